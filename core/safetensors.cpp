#include "core/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/log.hpp"

namespace tessera {

using nlohmann::json;

// ---- dtypes -------------------------------------------------------------------

const char* st_dtype_name(StDType t) {
  switch (t) {
    case StDType::F64: return "F64";
    case StDType::F32: return "F32";
    case StDType::F16: return "F16";
    case StDType::BF16: return "BF16";
    case StDType::I64: return "I64";
    case StDType::I32: return "I32";
    case StDType::I16: return "I16";
    case StDType::I8: return "I8";
    case StDType::U8: return "U8";
    case StDType::BOOL: return "BOOL";
  }
  return "?";
}

size_t st_dtype_size(StDType t) {
  switch (t) {
    case StDType::F64: case StDType::I64: return 8;
    case StDType::F32: case StDType::I32: return 4;
    case StDType::F16: case StDType::BF16: case StDType::I16: return 2;
    case StDType::I8: case StDType::U8: case StDType::BOOL: return 1;
  }
  return 0;
}

StDType st_dtype_of(DType t) {
  switch (t) {
    case DType::f32: return StDType::F32;
    case DType::f16: return StDType::F16;
    case DType::bf16: return StDType::BF16;
    case DType::i32: return StDType::I32;
    case DType::i64: return StDType::I64;
    case DType::u8: return StDType::U8;
  }
  return StDType::F32;
}

static bool st_is_float(StDType t) {
  return t == StDType::F64 || t == StDType::F32 || t == StDType::F16 || t == StDType::BF16;
}

DType natural_dtype(StDType t) {
  switch (t) {
    case StDType::F64: case StDType::F32: return DType::f32;
    case StDType::F16: return DType::f16;
    case StDType::BF16: return DType::bf16;
    case StDType::I64: return DType::i64;
    case StDType::I32: case StDType::I16: case StDType::I8: return DType::i32;
    case StDType::U8: case StDType::BOOL: return DType::u8;
  }
  return DType::f32;
}

DType preferred_load_dtype(StDType t, const Device& dev) {
  const DeviceInfo& info = dev.info();
  if (t == StDType::BF16) return info.bf16 ? DType::bf16 : DType::f32;
  if (t == StDType::F16) return info.fp16 ? DType::f16 : DType::f32;
  return natural_dtype(t);
}

bool st_can_convert(StDType src, DType dst) { return !(st_is_float(src) && !dtype_is_float(dst)); }

static bool parse_st_dtype(const std::string& s, StDType& out) {
  static const std::pair<const char*, StDType> table[] = {
      {"F64", StDType::F64}, {"F32", StDType::F32}, {"F16", StDType::F16}, {"BF16", StDType::BF16},
      {"I64", StDType::I64}, {"I32", StDType::I32}, {"I16", StDType::I16}, {"I8", StDType::I8},
      {"U8", StDType::U8},   {"BOOL", StDType::BOOL}};
  for (auto& [n, t] : table)
    if (s == n) {
      out = t;
      return true;
    }
  return false;
}

static bool known_unsupported_dtype(const std::string& s) {
  static const char* names[] = {"U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2",
                                "F4", "C64", "C128"};
  for (auto* n : names)
    if (s == n) return true;
  return false;
}

// ---- strings ------------------------------------------------------------------

std::string printable(const std::string& s, size_t max_len) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  return out;
}

bool is_valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + size_t(len) > n) return false;
    for (int k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;  // overlong
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += size_t(len);
  }
  return true;
}

static bool has_control_chars(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

// ---- TensorInfo -----------------------------------------------------------------

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;  // validated at parse time not to overflow
  return n;
}

// ---- SafetensorsFile: open / parse -----------------------------------------------

void SafetensorsFile::fail_file(const std::string& msg) const {
  throw Error(fmt::format("safetensors file '{}': {}", printable(path_, 200), msg));
}

SafetensorsFile::SafetensorsFile(const std::string& path) {
  path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_file(fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fail_file(fmt::format("cannot stat: {}", std::strerror(e)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail_file("not a regular file");
  }
  size_ = uint64_t(st.st_size);
  if (size_ < 8) {
    ::close(fd);
    fail_file(fmt::format("truncated: the file has {} bytes, fewer than the 8-byte header length", size_));
  }
  void* m = ::mmap(nullptr, size_t(size_), PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  ::close(fd);
  if (m == MAP_FAILED) fail_file(fmt::format("mmap of {} bytes failed: {}", size_, std::strerror(e)));
  map_ = m;
  map_size_ = size_t(size_);
  base_ = static_cast<const uint8_t*>(m);
  try {
    parse();
  } catch (...) {
    ::munmap(map_, map_size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsFile SafetensorsFile::from_bytes(std::vector<uint8_t> bytes, const std::string& name) {
  SafetensorsFile f;
  f.path_ = name;
  f.owned_ = std::move(bytes);
  f.base_ = f.owned_.data();
  f.size_ = f.owned_.size();
  if (f.size_ < 8) f.fail_file(fmt::format("truncated: the file has {} bytes, fewer than the 8-byte header length", f.size_));
  f.parse();
  return f;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& o) noexcept { *this = std::move(o); }

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& o) noexcept {
  if (this == &o) return *this;
  if (map_) ::munmap(map_, map_size_);
  path_ = std::move(o.path_);
  size_ = o.size_;
  data_size_ = o.data_size_;
  map_ = o.map_;
  map_size_ = o.map_size_;
  bool owned = o.base_ == o.owned_.data() && !o.map_;
  uint64_t data_off = uint64_t(o.data_ - o.base_);
  owned_ = std::move(o.owned_);
  base_ = owned ? owned_.data() : o.base_;
  data_ = base_ + data_off;
  tensors_ = std::move(o.tensors_);
  metadata_ = std::move(o.metadata_);
  o.map_ = nullptr;
  o.base_ = o.data_ = nullptr;
  o.size_ = o.data_size_ = 0;
  return *this;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(map_, map_size_);
}

namespace {

bool json_uint(const json& v, uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i < 0) return false;
    out = uint64_t(i);
    return true;
  }
  return false;
}

const char* json_type(const json& v) {
  if (v.is_number_float()) return "a float";
  if (v.is_number()) return "an integer";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  return "a value";
}

}  // namespace

void SafetensorsFile::parse() {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | base_[i];
  if (n > size_ - 8)
    fail_file(fmt::format("header claims {} bytes but the file has only {} bytes after the 8-byte length (truncated or not a safetensors file)",
                          n, size_ - 8));
  if (n > kMaxHeaderBytes)
    fail_file(fmt::format("header of {} bytes exceeds the {} byte limit (not a safetensors file?)", n, kMaxHeaderBytes));
  if (n < 2) fail_file(fmt::format("header of {} bytes is too short to hold a JSON object", n));
  const char* hb = reinterpret_cast<const char*>(base_ + 8);
  if (hb[0] != '{') fail_file("header does not start with '{' (not a safetensors file?)");
  data_ = base_ + 8 + n;
  data_size_ = size_ - 8 - n;

  // Parse, remembering duplicate top-level keys (nlohmann would keep the last one silently).
  std::set<std::string> seen;
  std::string duplicate;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::key && depth == 1 && duplicate.empty()) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!seen.insert(k).second) duplicate = k;
    }
    return true;
  };
  json h;
  try {
    h = json::parse(hb, hb + n, cb, /*allow_exceptions=*/true);
  } catch (const json::parse_error& e) {
    // nlohmann's message quotes the offending token verbatim; keep ours short and printable.
    std::string what = e.what();
    auto pos = what.find(" - ");
    std::string reason = pos == std::string::npos ? "syntax error" : what.substr(pos + 3);
    auto last = reason.find("; last read");
    if (last != std::string::npos) reason = reason.substr(0, last);
    fail_file(fmt::format("header is not valid JSON (byte {} of the header): {}", e.byte, printable(reason, 100)));
  } catch (const json::exception& e) {
    fail_file(fmt::format("header is not valid JSON: {}", printable(e.what(), 100)));
  }
  if (!h.is_object()) fail_file("header is not a JSON object");
  if (!duplicate.empty()) fail_file(fmt::format("duplicate tensor name '{}' in the header", printable(duplicate)));

  struct Range {
    uint64_t b, e;
    size_t idx;
  };
  std::vector<Range> ranges;
  tensors_.clear();
  metadata_.clear();
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name.empty()) fail_file("empty tensor name in the header");
    if (!is_valid_utf8(name)) fail_file(fmt::format("tensor name '{}' is not valid UTF-8", printable(name)));
    if (has_control_chars(name)) fail_file(fmt::format("tensor name '{}' contains control characters", printable(name)));
    if (name == "__metadata__") {
      if (!v.is_object()) fail_file(fmt::format("__metadata__ is {}, expected an object of strings", json_type(v)));
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          fail_file(fmt::format("__metadata__ entry '{}' is {}, expected a string", printable(m.key()), json_type(m.value())));
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    std::string tn = printable(name);
    if (!v.is_object()) fail_file(fmt::format("tensor '{}': entry is {}, expected an object", tn, json_type(v)));
    for (auto f = v.begin(); f != v.end(); ++f)
      if (f.key() != "dtype" && f.key() != "shape" && f.key() != "data_offsets")
        fail_file(fmt::format("tensor '{}': unexpected key '{}'", tn, printable(f.key(), 40)));
    auto d = v.find("dtype");
    auto s = v.find("shape");
    auto o = v.find("data_offsets");
    if (d == v.end()) fail_file(fmt::format("tensor '{}': missing 'dtype'", tn));
    if (s == v.end()) fail_file(fmt::format("tensor '{}': missing 'shape'", tn));
    if (o == v.end()) fail_file(fmt::format("tensor '{}': missing 'data_offsets'", tn));

    TensorInfo ti;
    ti.name = name;
    if (!d->is_string()) fail_file(fmt::format("tensor '{}': dtype is {}, expected a string", tn, json_type(*d)));
    const std::string& ds = d->get_ref<const std::string&>();
    if (!parse_st_dtype(ds, ti.dtype)) {
      if (known_unsupported_dtype(ds)) fail_file(fmt::format("tensor '{}': unsupported dtype '{}'", tn, ds));
      fail_file(fmt::format("tensor '{}': unknown dtype '{}' (expected F64, F32, F16, BF16, I64, I32, I16, I8, U8 or BOOL)",
                            tn, printable(ds, 20)));
    }

    if (!s->is_array()) fail_file(fmt::format("tensor '{}': shape is {}, expected an array", tn, json_type(*s)));
    if (s->size() > size_t(kMaxRank))
      fail_file(fmt::format("tensor '{}': rank {} exceeds the supported maximum {}", tn, s->size(), kMaxRank));
    uint64_t numel = 1;
    bool overflow = false;
    for (const auto& dim : *s) {
      uint64_t dv;
      if (!json_uint(dim, dv)) fail_file(fmt::format("tensor '{}': shape entries must be non-negative integers", tn));
      if (dv > uint64_t(std::numeric_limits<int64_t>::max()))
        fail_file(fmt::format("tensor '{}': dimension {} is too large", tn, dv));
      ti.shape.push_back(int64_t(dv));
      if (__builtin_mul_overflow(numel, dv, &numel)) overflow = true;
    }
    uint64_t nbytes = 0;
    if (overflow || numel > uint64_t(std::numeric_limits<int64_t>::max()) ||
        __builtin_mul_overflow(numel, uint64_t(st_dtype_size(ti.dtype)), &nbytes))
      fail_file(fmt::format("tensor '{}': shape {} overflows (element count or byte size does not fit 64 bits)", tn,
                            shape_str(ti.shape)));

    if (!o->is_array() || o->size() != 2)
      fail_file(fmt::format("tensor '{}': data_offsets must be an array of two integers", tn));
    if (!json_uint((*o)[0], ti.begin) || !json_uint((*o)[1], ti.end))
      fail_file(fmt::format("tensor '{}': data_offsets must be non-negative integers", tn));
    if (ti.begin > ti.end)
      fail_file(fmt::format("tensor '{}': data_offsets [{}, {}] have begin > end", tn, ti.begin, ti.end));
    if (ti.end > data_size_)
      fail_file(fmt::format("tensor '{}': data_offsets [{}, {}] extend past the data section of {} bytes (truncated file?)",
                            tn, ti.begin, ti.end, data_size_));
    if (ti.end - ti.begin != nbytes)
      fail_file(fmt::format("tensor '{}': data_offsets [{}, {}] span {} bytes but {} {} needs {} bytes", tn, ti.begin,
                            ti.end, ti.end - ti.begin, st_dtype_name(ti.dtype), shape_str(ti.shape), nbytes));
    ranges.push_back({ti.begin, ti.end, tensors_.size()});
    tensors_.push_back(std::move(ti));
  }

  // No two non-empty byte ranges may overlap.
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.b != b.b ? a.b < b.b : a.e < b.e; });
  const Range* prev = nullptr;
  for (const auto& r : ranges) {
    if (r.b == r.e) continue;
    if (prev && r.b < prev->e)
      fail_file(fmt::format("tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", printable(tensors_[prev->idx].name),
                            prev->b, prev->e, printable(tensors_[r.idx].name), r.b, r.e));
    if (!prev || r.e > prev->e) prev = &r;
  }
  // nlohmann's object is ordered by key, so tensors_ is already sorted by name.
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorInfo& t, const std::string& n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) fail_file(fmt::format("no tensor named '{}' (the file has {} tensors)", printable(name), tensors_.size()));
  return *t;
}

// ---- conversion -------------------------------------------------------------------

namespace {

template <typename T>
inline T ld(const uint8_t* p, int64_t i) {
  T v;
  std::memcpy(&v, p + size_t(i) * sizeof(T), sizeof(T));
  return v;
}

// Calls f(i, float-or-double value) for each element of a float source.
template <typename F>
void each_float(StDType s, const uint8_t* p, int64_t n, F&& f) {
  switch (s) {
    case StDType::F32: for (int64_t i = 0; i < n; ++i) f(i, ld<float>(p, i)); break;
    case StDType::F16: for (int64_t i = 0; i < n; ++i) f(i, f16_to_f32(ld<uint16_t>(p, i))); break;
    case StDType::BF16: for (int64_t i = 0; i < n; ++i) f(i, bf16_to_f32(ld<uint16_t>(p, i))); break;
    case StDType::F64: for (int64_t i = 0; i < n; ++i) f(i, float(ld<double>(p, i))); break;
    default: break;
  }
}

// Calls f(i, int64 value) for each element of an integer / bool source.
template <typename F>
void each_int(StDType s, const uint8_t* p, int64_t n, F&& f) {
  switch (s) {
    case StDType::I64: for (int64_t i = 0; i < n; ++i) f(i, ld<int64_t>(p, i)); break;
    case StDType::I32: for (int64_t i = 0; i < n; ++i) f(i, int64_t(ld<int32_t>(p, i))); break;
    case StDType::I16: for (int64_t i = 0; i < n; ++i) f(i, int64_t(ld<int16_t>(p, i))); break;
    case StDType::I8: for (int64_t i = 0; i < n; ++i) f(i, int64_t(ld<int8_t>(p, i))); break;
    case StDType::U8: for (int64_t i = 0; i < n; ++i) f(i, int64_t(p[i])); break;
    case StDType::BOOL: for (int64_t i = 0; i < n; ++i) f(i, int64_t(p[i] != 0)); break;
    default: break;
  }
}

}  // namespace

void SafetensorsFile::convert_range(const TensorInfo& t, int64_t first, int64_t count, DType dst_type, void* dst) const {
  if (!st_can_convert(t.dtype, dst_type))
    fail_file(fmt::format("tensor '{}': cannot load {} as {} (float to integer)", printable(t.name), st_dtype_name(t.dtype),
                          dtype_name(dst_type)));
  TESSERA_CHECK(first >= 0 && count >= 0 && first + count <= t.numel(), "convert_range: [{}, {}) outside tensor '{}'",
                first, first + count, printable(t.name));
  const uint8_t* p = raw(t) + size_t(first) * st_dtype_size(t.dtype);
  if (count == 0) return;
  if (st_dtype_of(dst_type) == t.dtype) {  // same type (BOOL is never "same": it is normalised to 0/1)
    std::memcpy(dst, p, size_t(count) * dtype_size(dst_type));
    return;
  }
  if (st_is_float(t.dtype)) {
    switch (dst_type) {
      case DType::f32: {
        auto* o = static_cast<float*>(dst);
        if (t.dtype == StDType::F64) {
          for (int64_t i = 0; i < count; ++i) o[i] = float(ld<double>(p, i));
        } else {
          each_float(t.dtype, p, count, [&](int64_t i, float v) { o[i] = v; });
        }
        break;
      }
      case DType::f16: {
        auto* o = static_cast<uint16_t*>(dst);
        each_float(t.dtype, p, count, [&](int64_t i, float v) { o[i] = f32_to_f16(v); });
        break;
      }
      case DType::bf16: {
        auto* o = static_cast<uint16_t*>(dst);
        each_float(t.dtype, p, count, [&](int64_t i, float v) { o[i] = f32_to_bf16(v); });
        break;
      }
      default: break;
    }
    return;
  }
  // Integer / bool source.
  auto range_fail = [&](int64_t i, int64_t v) {
    fail_file(fmt::format("tensor '{}': element {} = {} does not fit {}", printable(t.name), first + i, v, dtype_name(dst_type)));
  };
  switch (dst_type) {
    case DType::i64: {
      auto* o = static_cast<int64_t*>(dst);
      each_int(t.dtype, p, count, [&](int64_t i, int64_t v) { o[i] = v; });
      break;
    }
    case DType::i32: {
      auto* o = static_cast<int32_t*>(dst);
      each_int(t.dtype, p, count, [&](int64_t i, int64_t v) {
        if (v < INT32_MIN || v > INT32_MAX) range_fail(i, v);
        o[i] = int32_t(v);
      });
      break;
    }
    case DType::u8: {
      auto* o = static_cast<uint8_t*>(dst);
      each_int(t.dtype, p, count, [&](int64_t i, int64_t v) {
        if (v < 0 || v > 255) range_fail(i, v);
        o[i] = uint8_t(v);
      });
      break;
    }
    case DType::f32: {
      auto* o = static_cast<float*>(dst);
      each_int(t.dtype, p, count, [&](int64_t i, int64_t v) { o[i] = float(v); });
      break;
    }
    case DType::f16: {
      auto* o = static_cast<uint16_t*>(dst);
      each_int(t.dtype, p, count, [&](int64_t i, int64_t v) { o[i] = f32_to_f16(float(v)); });
      break;
    }
    case DType::bf16: {
      auto* o = static_cast<uint16_t*>(dst);
      each_int(t.dtype, p, count, [&](int64_t i, int64_t v) { o[i] = f32_to_bf16(float(v)); });
      break;
    }
  }
}

void SafetensorsFile::read_into(const std::string& name, DType dst_type, void* dst) const {
  const TensorInfo& t = info(name);
  convert_range(t, 0, t.numel(), dst_type, dst);
}

static std::atomic<size_t>& chunk_setting() {
  static std::atomic<size_t> v{[] {
    size_t c = size_t(8) << 20;
    if (const char* e = std::getenv("TESSERA_LOAD_CHUNK_BYTES")) {
      char* end = nullptr;
      unsigned long long x = std::strtoull(e, &end, 10);
      if (end && *end == 0 && x >= 64) c = size_t(x);
    }
    return c;
  }()};
  return v;
}

size_t SafetensorsFile::chunk_bytes() { return chunk_setting().load(); }

void SafetensorsFile::set_chunk_bytes(size_t bytes) { chunk_setting().store(std::max<size_t>(bytes, 16)); }

void SafetensorsFile::release_pages(const TensorInfo& t) const {
  if (!map_) return;
  static const size_t page = size_t(::sysconf(_SC_PAGESIZE));
  uintptr_t b = reinterpret_cast<uintptr_t>(raw(t));
  uintptr_t e = b + t.nbytes();
  b = (b + page - 1) / page * page;
  e = e / page * page;
  if (e > b) ::madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
}

void SafetensorsFile::load_into(const TensorInfo& t, Tensor& dst) const {
  TESSERA_CHECK(dst.defined() && dst.is_contiguous(), "load_into: destination for '{}' must be a defined contiguous tensor",
                printable(t.name));
  TESSERA_CHECK(dst.numel() == t.numel(), "load_into: tensor '{}' has {} elements, destination {}", printable(t.name),
                t.numel(), dst.desc());
  DType target = dst.dtype();
  if (!st_can_convert(t.dtype, target))
    fail_file(fmt::format("tensor '{}': cannot load {} as {} (float to integer)", printable(t.name), st_dtype_name(t.dtype),
                          dtype_name(target)));
  Device& dev = dst.device();
  const int64_t n = t.numel();
  const size_t esz = dtype_size(target);
  const int64_t per_chunk = int64_t(std::max<size_t>(1, chunk_bytes() / esz));
  if (st_dtype_of(target) == t.dtype) {
    // Same layout: upload straight from the mapping, chunk by chunk.
    for (int64_t i = 0; i < n; i += per_chunk) {
      int64_t c = std::min(per_chunk, n - i);
      dev.upload(dst.buffer(), dst.offset_bytes() + size_t(i) * esz, raw(t) + size_t(i) * esz, size_t(c) * esz);
    }
  } else {
    std::vector<uint8_t> staging(size_t(std::min(per_chunk, std::max<int64_t>(n, 1))) * esz);
    for (int64_t i = 0; i < n; i += per_chunk) {
      int64_t c = std::min(per_chunk, n - i);
      convert_range(t, i, c, target, staging.data());
      dev.upload(dst.buffer(), dst.offset_bytes() + size_t(i) * esz, staging.data(), size_t(c) * esz);
    }
  }
  release_pages(t);
}

Tensor SafetensorsFile::load(const std::string& name, Device& dev, DType target) const {
  const TensorInfo& t = info(name);
  if (!st_can_convert(t.dtype, target))
    fail_file(fmt::format("tensor '{}': cannot load {} as {} (float to integer)", printable(t.name), st_dtype_name(t.dtype),
                          dtype_name(target)));
  Tensor out = Tensor::empty(t.shape, target, dev);
  load_into(t, out);
  return out;
}

Tensor SafetensorsFile::load(const std::string& name, Device& dev) const {
  return load(name, dev, preferred_load_dtype(info(name).dtype, dev));
}

// ---- writer -------------------------------------------------------------------------

SafetensorsEntry SafetensorsEntry::from_tensor(std::string name, const Tensor& t) {
  return from_tensor(std::move(name), t, st_dtype_of(t.dtype()));
}

SafetensorsEntry SafetensorsEntry::from_tensor(std::string name, const Tensor& t, StDType as) {
  TESSERA_CHECK(t.defined(), "write_safetensors: tensor '{}' is undefined", printable(name));
  TESSERA_CHECK(st_dtype_size(as) == dtype_size(t.dtype()), "write_safetensors: tensor '{}' of type {} cannot be written as {}",
                printable(name), dtype_name(t.dtype()), st_dtype_name(as));
  SafetensorsEntry e;
  e.name = std::move(name);
  e.dtype = as;
  e.shape = t.shape();
  e.tensor = t;
  return e;
}

SafetensorsEntry SafetensorsEntry::from_host(std::string name, StDType dtype, Shape shape, const void* data) {
  SafetensorsEntry e;
  e.name = std::move(name);
  e.dtype = dtype;
  e.shape = std::move(shape);
  e.host = data;
  return e;
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsEntry>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  auto wfail = [&](const std::string& msg) {
    throw Error(fmt::format("write_safetensors '{}': {}", printable(path, 200), msg));
  };
  struct Item {
    const SafetensorsEntry* e;
    uint64_t nbytes;
  };
  std::vector<Item> items;
  std::set<std::string> names;
  for (const auto& e : tensors) {
    if (e.name.empty() || e.name == "__metadata__" || !is_valid_utf8(e.name) || has_control_chars(e.name))
      wfail(fmt::format("invalid tensor name '{}'", printable(e.name)));
    if (!names.insert(e.name).second) wfail(fmt::format("duplicate tensor name '{}'", printable(e.name)));
    if (e.shape.size() > size_t(kMaxDims)) wfail(fmt::format("tensor '{}': rank {} too large", printable(e.name), e.shape.size()));
    uint64_t numel = 1, nbytes = 0;
    for (auto d : e.shape) {
      if (d < 0 || __builtin_mul_overflow(numel, uint64_t(d), &numel))
        wfail(fmt::format("tensor '{}': invalid shape {}", printable(e.name), shape_str(e.shape)));
    }
    if (__builtin_mul_overflow(numel, uint64_t(st_dtype_size(e.dtype)), &nbytes))
      wfail(fmt::format("tensor '{}': shape {} overflows", printable(e.name), shape_str(e.shape)));
    if (e.tensor.defined()) {
      if (e.tensor.shape() != e.shape || !e.tensor.is_contiguous())
        wfail(fmt::format("tensor '{}': entry shape {} does not match the contiguous tensor {}", printable(e.name),
                          shape_str(e.shape), e.tensor.desc()));
    } else if (!e.host && nbytes) {
      wfail(fmt::format("tensor '{}': no data", printable(e.name)));
    }
    items.push_back({&e, nbytes});
  }
  for (const auto& [k, v] : metadata)
    if (!is_valid_utf8(k) || !is_valid_utf8(v)) wfail(fmt::format("metadata '{}' is not valid UTF-8", printable(k)));

  // The official layout: larger element types first, then by name.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    size_t sa = st_dtype_size(a.e->dtype), sb = st_dtype_size(b.e->dtype);
    return sa != sb ? sa > sb : a.e->name < b.e->name;
  });
  json h = json::object();
  if (!metadata.empty()) {
    json m = json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    h["__metadata__"] = m;
  }
  uint64_t off = 0;
  for (const auto& it : items) {
    json shape = json::array();
    for (auto d : it.e->shape) shape.push_back(d);
    uint64_t end;
    if (__builtin_add_overflow(off, it.nbytes, &end)) wfail("total size overflows");
    h[it.e->name] = {{"dtype", st_dtype_name(it.e->dtype)}, {"shape", shape}, {"data_offsets", {off, end}}};
    off = end;
  }
  std::string header = h.dump();
  header.append((8 - header.size() % 8) % 8, ' ');

  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) wfail(fmt::format("cannot create '{}': {}", printable(tmp, 200), std::strerror(errno)));
  bool ok = true;
  auto put = [&](const void* p, size_t n) {
    if (ok && n && std::fwrite(p, 1, n, f) != n) ok = false;
  };
  try {
    uint8_t len[8];
    uint64_t hl = header.size();
    for (int i = 0; i < 8; ++i) len[i] = uint8_t(hl >> (8 * i));
    put(len, 8);
    put(header.data(), header.size());
    std::vector<uint8_t> staging;
    for (const auto& it : items) {
      const SafetensorsEntry& e = *it.e;
      if (!e.tensor.defined()) {
        put(e.host, size_t(it.nbytes));
        continue;
      }
      const size_t chunk = SafetensorsFile::chunk_bytes();
      staging.resize(std::min<size_t>(chunk, size_t(it.nbytes)));
      for (uint64_t done = 0; done < it.nbytes && ok;) {
        size_t c = size_t(std::min<uint64_t>(chunk, it.nbytes - done));
        e.tensor.device().download(e.tensor.buffer(), e.tensor.offset_bytes() + size_t(done), staging.data(), c);
        put(staging.data(), c);
        done += c;
      }
    }
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  if (std::fflush(f) != 0) ok = false;
  if (std::fclose(f) != 0) ok = false;
  if (!ok) {
    std::remove(tmp.c_str());
    wfail(fmt::format("write failed: {}", std::strerror(errno)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    std::remove(tmp.c_str());
    wfail(fmt::format("cannot rename '{}' into place: {}", printable(tmp, 200), std::strerror(e)));
  }
}

}  // namespace tessera
