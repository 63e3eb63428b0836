#include "meshing/mesh_io.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string_view>

#include "core/error.hpp"
#include "core/safetensors.hpp"  // printable

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the PLY writers assume a little-endian host");

namespace tessera::meshing {
namespace {

// ---------------------------------------------------------------- writing

// Buffered writes to "<path>.tmp", renamed onto path by commit(). Errors name
// `fn` and the path; the temporary file is removed on every failure.
class FileWriter {
 public:
  FileWriter(std::string fn, std::string path) : fn_(std::move(fn)), path_(std::move(path)), tmp_(path_ + ".tmp") {
    f_ = std::fopen(tmp_.c_str(), "wb");
    if (!f_) fail("{} '{}': cannot create '{}': {}", fn_, printable(path_, 200), printable(tmp_, 200), std::strerror(errno));
    buf_.reserve(kChunk);
  }
  ~FileWriter() {
    if (f_) {
      std::fclose(f_);
      std::remove(tmp_.c_str());
    }
  }
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  void bytes(const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    buf_.insert(buf_.end(), c, c + n);
    if (buf_.size() >= kChunk) drain();
  }
  void text(const std::string& s) { bytes(s.data(), s.size()); }
  template <typename T>
  void pod(const T& v) {
    bytes(&v, sizeof(T));
  }
  fmt::memory_buffer& fmtbuf() { return fbuf_; }  // format into it, then flush_fmt()
  void flush_fmt() {
    bytes(fbuf_.data(), fbuf_.size());
    fbuf_.clear();
  }

  void commit() {
    drain();
    int err = 0;
    if (std::fflush(f_) != 0) err = errno;
    if (std::fclose(f_) != 0 && !err) err = errno;
    f_ = nullptr;
    if (err) {
      std::remove(tmp_.c_str());
      fail("{} '{}': write failed: {}", fn_, printable(path_, 200), std::strerror(err));
    }
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
      err = errno;
      std::remove(tmp_.c_str());
      fail("{} '{}': cannot rename '{}' into place: {}", fn_, printable(path_, 200), printable(tmp_, 200),
           std::strerror(err));
    }
  }

 private:
  static constexpr size_t kChunk = 1 << 20;
  void drain() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
      fail("{} '{}': write failed: {}", fn_, printable(path_, 200), std::strerror(errno));
    buf_.clear();
  }
  std::string fn_, path_, tmp_;
  FILE* f_ = nullptr;
  std::vector<char> buf_;
  fmt::memory_buffer fbuf_;
};

void validate_for(const char* fn, const std::string& path, const Mesh& m) {
  try {
    m.validate();
  } catch (const Error& e) {
    fail("{} '{}': {}", fn, printable(path, 200), e.what());
  }
}

bool valid_attr_name(const std::string& s) {
  if (s.empty() || s.size() > 200 || s == "x" || s == "y" || s == "z") return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// ---------------------------------------------------------------- reading

enum class PlyType { i8, u8, i16, u16, i32, u32, f32, f64 };

bool parse_type(const std::string& s, PlyType& t) {
  static const std::pair<const char*, PlyType> names[] = {
      {"char", PlyType::i8},    {"int8", PlyType::i8},     {"uchar", PlyType::u8},   {"uint8", PlyType::u8},
      {"short", PlyType::i16},  {"int16", PlyType::i16},   {"ushort", PlyType::u16}, {"uint16", PlyType::u16},
      {"int", PlyType::i32},    {"int32", PlyType::i32},   {"uint", PlyType::u32},   {"uint32", PlyType::u32},
      {"float", PlyType::f32},  {"float32", PlyType::f32}, {"double", PlyType::f64}, {"float64", PlyType::f64}};
  for (const auto& [n, ty] : names)
    if (s == n) {
      t = ty;
      return true;
    }
  return false;
}

size_t type_size(PlyType t) {
  switch (t) {
    case PlyType::i8: case PlyType::u8: return 1;
    case PlyType::i16: case PlyType::u16: return 2;
    case PlyType::i32: case PlyType::u32: case PlyType::f32: return 4;
    case PlyType::f64: return 8;
  }
  return 0;
}

struct PlyProperty {
  std::string name;
  PlyType type = PlyType::f32;
  bool is_list = false;
  PlyType count_type = PlyType::u8;
};
struct PlyElement {
  std::string name;
  uint64_t count = 0;
  std::vector<PlyProperty> props;
};

// A whole binary PLY file in memory: the parsed header and a bounds-checked
// cursor over the body.
class PlyReader {
 public:
  PlyReader(std::string fn, const std::string& path) : fn_(std::move(fn)), path_(path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) bad("cannot open file: {}", std::strerror(errno));
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    in.seekg(0);
    if (size < 0) bad("cannot read file");
    data_.resize(size_t(size));
    if (size && !in.read(data_.data(), size)) bad("cannot read file");
    parse_header();
  }

  template <typename... Args>
  [[noreturn]] void bad(fmt::format_string<Args...> f, Args&&... args) const {
    throw Error(fmt::format("{} '{}': {}", fn_, printable(path_, 200), fmt::format(f, std::forward<Args>(args)...)));
  }

  const std::vector<PlyElement>& elements() const { return elements_; }
  const std::vector<std::string>& comments() const { return comments_; }

  double read(PlyType t) {
    const size_t n = type_size(t);
    if (data_.size() - pos_ < n) bad("file ends inside the data (truncated?)");
    unsigned char b[8];
    std::memcpy(b, data_.data() + pos_, n);
    pos_ += n;
    if (big_endian_) std::reverse(b, b + n);
    switch (t) {
      case PlyType::i8: return double(int8_t(b[0]));
      case PlyType::u8: return double(b[0]);
      case PlyType::i16: { int16_t v; std::memcpy(&v, b, 2); return v; }
      case PlyType::u16: { uint16_t v; std::memcpy(&v, b, 2); return v; }
      case PlyType::i32: { int32_t v; std::memcpy(&v, b, 4); return v; }
      case PlyType::u32: { uint32_t v; std::memcpy(&v, b, 4); return v; }
      case PlyType::f32: { float v; std::memcpy(&v, b, 4); return v; }
      case PlyType::f64: { double v; std::memcpy(&v, b, 8); return v; }
    }
    return 0;
  }
  // Row-by-row reading of element `e`: fills `scalars` (one per non-list
  // property, in order; lists are passed to on_list and give NaN there).
  template <typename OnList>
  void read_row(const PlyElement& e, std::vector<double>& scalars, OnList&& on_list) {
    scalars.resize(e.props.size());
    for (size_t k = 0; k < e.props.size(); ++k) {
      const PlyProperty& p = e.props[k];
      if (!p.is_list) {
        scalars[k] = read(p.type);
        continue;
      }
      const double c = read(p.count_type);
      if (!(c >= 0) || c != std::floor(c)) bad("element '{}': invalid list length {}", e.name, c);
      const uint64_t n = uint64_t(c);
      if (n * type_size(p.type) > data_.size() - pos_) bad("file ends inside the data (truncated?)");
      scalars[k] = NAN;
      on_list(k, n);
    }
  }
  // Skip a whole element. Fixed-size rows are skipped at once.
  void skip(const PlyElement& e) {
    size_t stride = 0;
    bool fixed = true;
    for (const auto& p : e.props) fixed &= !p.is_list, stride += type_size(p.type);
    if (fixed) {
      check_rows(e, stride);
      pos_ += size_t(e.count) * stride;
      return;
    }
    std::vector<double> s;
    for (uint64_t r = 0; r < e.count; ++r)
      read_row(e, s, [&](size_t k, uint64_t n) { pos_ += size_t(n) * type_size(e.props[k].type); });
  }
  // Error unless `count` rows of at least `min_stride` bytes fit in the rest of the file.
  void check_rows(const PlyElement& e, size_t min_stride) const {
    if (min_stride && e.count > (data_.size() - pos_) / min_stride)
      bad("element '{}' declares {} rows but the file holds only {} bytes after the header (truncated?)", e.name,
          e.count, data_.size() - pos_);
  }
  size_t min_stride(const PlyElement& e) const {
    size_t s = 0;
    for (const auto& p : e.props) s += p.is_list ? type_size(p.count_type) : type_size(p.type);
    return s;
  }
  void skip_bytes(size_t n) { pos_ += n; }

 private:
  void parse_header() {
    const size_t limit = std::min<size_t>(data_.size(), 1 << 20);
    size_t line_start = 0;
    bool first = true, have_format = false;
    for (;;) {
      const size_t nl = std::string_view(data_.data(), limit).find('\n', line_start);
      if (nl == std::string_view::npos) bad("not a PLY file: no end_header in the first {} bytes", limit);
      std::string line(data_.data() + line_start, nl - line_start);
      line_start = nl + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (first) {
        if (line != "ply") bad("not a PLY file (the first line is '{}', expected 'ply')", printable(line, 40));
        first = false;
        continue;
      }
      std::istringstream ss(line);
      std::string kw;
      ss >> kw;
      if (kw == "end_header") break;
      if (kw == "comment" || kw == "obj_info") {
        if (kw == "comment") comments_.push_back(line.size() > 8 ? line.substr(8) : "");
        continue;
      }
      if (kw == "format") {
        std::string f, ver;
        ss >> f >> ver;
        if (f == "binary_little_endian") big_endian_ = false;
        else if (f == "binary_big_endian") big_endian_ = true;
        else if (f == "ascii") bad("ascii PLY is not supported; write it as binary_little_endian");
        else bad("unknown PLY format '{}'", printable(f, 40));
        have_format = true;
        continue;
      }
      if (kw == "element") {
        PlyElement e;
        std::string count;
        ss >> e.name >> count;
        if (e.name.empty() || count.empty() || count.find_first_not_of("0123456789") != std::string::npos ||
            count.size() > 18)
          bad("malformed header line '{}'", printable(line, 80));
        e.count = std::stoull(count);
        elements_.push_back(std::move(e));
        continue;
      }
      if (kw == "property") {
        if (elements_.empty()) bad("header: property before any element");
        PlyProperty p;
        std::string t;
        ss >> t;
        if (t == "list") {
          std::string ct, it;
          ss >> ct >> it >> p.name;
          if (!parse_type(ct, p.count_type) || !parse_type(it, p.type) || p.name.empty())
            bad("malformed header line '{}'", printable(line, 80));
          if (p.count_type == PlyType::f32 || p.count_type == PlyType::f64)
            bad("header line '{}': list lengths must be integers", printable(line, 80));
          p.is_list = true;
        } else {
          ss >> p.name;
          if (!parse_type(t, p.type) || p.name.empty()) bad("malformed header line '{}'", printable(line, 80));
        }
        elements_.back().props.push_back(std::move(p));
        continue;
      }
      if (kw.empty()) continue;
      bad("unknown header line '{}'", printable(line, 80));
    }
    if (!have_format) bad("header has no format line");
    pos_ = line_start;
  }

  std::string fn_, path_;
  std::vector<char> data_;
  size_t pos_ = 0;
  bool big_endian_ = false;
  std::vector<PlyElement> elements_;
  std::vector<std::string> comments_;
};

int find_prop(const PlyElement& e, const std::string& name) {
  for (size_t k = 0; k < e.props.size(); ++k)
    if (e.props[k].name == name) return int(k);
  return -1;
}

}  // namespace

// ---------------------------------------------------------------- meshes

void write_mesh_ply(const std::string& path, const Mesh& m) {
  validate_for("write_mesh_ply", path, m);
  FileWriter w("write_mesh_ply", path);
  w.text(fmt::format(
      "ply\nformat binary_little_endian 1.0\ncomment written by tessera\nelement vertex {}\nproperty float x\n"
      "property float y\nproperty float z\nelement face {}\nproperty list uchar int vertex_indices\nend_header\n",
      m.num_vertices(), m.num_faces()));
  w.bytes(m.positions.data(), m.positions.size() * sizeof(float));
  const uint8_t three = 3;
  for (size_t f = 0; f < m.faces.size(); f += 3) {
    w.pod(three);
    w.bytes(m.faces.data() + f, 3 * sizeof(int32_t));
  }
  w.commit();
}

Mesh read_mesh_ply(const std::string& path) {
  PlyReader r("read_mesh_ply", path);
  Mesh m;
  bool have_v = false, have_f = false;
  std::vector<double> s;
  for (const PlyElement& e : r.elements()) {
    if (e.name == "vertex" && !have_v) {
      const int ix = find_prop(e, "x"), iy = find_prop(e, "y"), iz = find_prop(e, "z");
      if (ix < 0 || iy < 0 || iz < 0) r.bad("element 'vertex' has no x, y and z properties");
      r.check_rows(e, r.min_stride(e));
      m.positions.resize(size_t(3 * e.count));
      for (uint64_t i = 0; i < e.count; ++i) {
        r.read_row(e, s, [&](size_t k, uint64_t n) { r.skip_bytes(size_t(n) * type_size(e.props[k].type)); });
        m.positions[3 * i] = float(s[ix]), m.positions[3 * i + 1] = float(s[iy]), m.positions[3 * i + 2] = float(s[iz]);
      }
      have_v = true;
    } else if (e.name == "face" && !have_f) {
      int il = find_prop(e, "vertex_indices");
      if (il < 0) il = find_prop(e, "vertex_index");
      if (il < 0 || !e.props[size_t(il)].is_list) r.bad("element 'face' has no vertex_indices list");
      r.check_rows(e, r.min_stride(e));
      std::vector<int64_t> poly;
      for (uint64_t i = 0; i < e.count; ++i) {
        r.read_row(e, s, [&](size_t k, uint64_t n) {
          const PlyType t = e.props[k].type;
          if (int(k) != il) {
            r.skip_bytes(size_t(n) * type_size(t));
            return;
          }
          if (n < 3) r.bad("face {} has {} vertices (at least 3 needed)", i, n);
          poly.resize(size_t(n));
          for (uint64_t j = 0; j < n; ++j) {
            const double v = r.read(t);
            if (!(v >= 0 && v <= double(INT32_MAX)) || v != std::floor(v)) r.bad("face {}: invalid vertex index {}", i, v);
            poly[size_t(j)] = int64_t(v);
          }
          for (size_t j = 1; j + 1 < poly.size(); ++j)
            m.faces.insert(m.faces.end(), {int32_t(poly[0]), int32_t(poly[j]), int32_t(poly[j + 1])});
        });
      }
      have_f = true;
    } else {
      r.skip(e);
    }
  }
  if (!have_v) r.bad("no 'vertex' element");
  for (size_t i = 0; i < m.faces.size(); ++i)
    if (m.faces[i] >= m.num_vertices())
      r.bad("face {} uses vertex {} but the file has {} vertices", i / 3, m.faces[i], m.num_vertices());
  return m;
}

void write_mesh_obj(const std::string& path, const Mesh& m) {
  validate_for("write_mesh_obj", path, m);
  FileWriter w("write_mesh_obj", path);
  w.text(fmt::format("# written by tessera: {} vertices, {} faces\n", m.num_vertices(), m.num_faces()));
  auto& b = w.fmtbuf();
  for (size_t i = 0; i < m.positions.size(); i += 3) {
    fmt::format_to(std::back_inserter(b), "v {} {} {}\n", m.positions[i], m.positions[i + 1], m.positions[i + 2]);
    if (b.size() > 60000) w.flush_fmt();
  }
  for (size_t f = 0; f < m.faces.size(); f += 3) {
    fmt::format_to(std::back_inserter(b), "f {} {} {}\n", int64_t(m.faces[f]) + 1, int64_t(m.faces[f + 1]) + 1,
                   int64_t(m.faces[f + 2]) + 1);
    if (b.size() > 60000) w.flush_fmt();
  }
  w.flush_fmt();
  w.commit();
}

// ---------------------------------------------------------------- O-Voxels

const VoxelAttribute* OVoxel::find(const std::string& name) const {
  for (const auto& a : attributes)
    if (a.name == name) return &a;
  return nullptr;
}

void OVoxel::validate() const {
  if (coords.size() % 3 != 0) fail("o-voxel: coords has {} values, not a multiple of 3 (expected [N, 3])", coords.size());
  const size_t n = coords.size() / 3;
  std::set<std::string> names;
  for (const auto& a : attributes) {
    if (!valid_attr_name(a.name))
      fail("o-voxel: invalid attribute name '{}' (use letters, digits and '_'; not x, y or z)", printable(a.name, 80));
    if (!names.insert(a.name).second) fail("o-voxel: attribute '{}' appears twice", a.name);
    if (a.channels < 1) fail("o-voxel: attribute '{}' has {} channels (at least 1)", a.name, a.channels);
    if (a.data.size() != n * size_t(a.channels))
      fail("o-voxel: attribute '{}' has {} values but {} voxels x {} channels = {} expected", a.name, a.data.size(), n,
           a.channels, n * size_t(a.channels));
  }
  const auto& r = resolution;
  const bool unknown = r[0] == 0 && r[1] == 0 && r[2] == 0;
  if (!unknown && (r[0] < 1 || r[1] < 1 || r[2] < 1))
    fail("o-voxel: resolution [{}, {}, {}] must be all 0 (unknown) or all >= 1", r[0], r[1], r[2]);
  for (size_t i = 0; i < n; ++i)
    for (int k = 0; k < 3; ++k) {
      const int32_t c = coords[3 * i + size_t(k)];
      if (c < 0 || (!unknown && c >= r[k]))
        fail("o-voxel: voxel {} is ({}, {}, {}), outside the grid {}", i, coords[3 * i], coords[3 * i + 1],
             coords[3 * i + 2],
             unknown ? std::string("(coordinates must be >= 0)")
                     : fmt::format("[0, {}) x [0, {}) x [0, {})", r[0], r[1], r[2]));
    }
  if (aabb)
    for (int k = 0; k < 3; ++k)
      if (!std::isfinite(aabb->min[k]) || !std::isfinite(aabb->max[k]) || !(aabb->max[k] > aabb->min[k]))
        fail("o-voxel: aabb must be finite with max > min on every axis");
}

void write_ovoxel_ply(const std::string& path, const OVoxel& v) {
  try {
    v.validate();
  } catch (const Error& e) {
    fail("write_ovoxel_ply '{}': {}", printable(path, 200), e.what());
  }
  FileWriter w("write_ovoxel_ply", path);
  std::string h = "ply\nformat binary_little_endian 1.0\ncomment o-voxel written by tessera\n";
  h += fmt::format("comment resolution {} {} {}\n", v.resolution[0], v.resolution[1], v.resolution[2]);
  if (v.aabb)
    h += fmt::format("comment aabb {} {} {} {} {} {}\n", v.aabb->min[0], v.aabb->min[1], v.aabb->min[2], v.aabb->max[0],
                     v.aabb->max[1], v.aabb->max[2]);
  h += fmt::format("element vertex {}\nproperty float x\nproperty float y\nproperty float z\n", v.num_voxels());
  for (const auto& a : v.attributes)
    for (int j = 0; j < a.channels; ++j) h += fmt::format("property float {}_{}\n", a.name, j);
  h += "end_header\n";
  w.text(h);
  const size_t n = size_t(v.num_voxels());
  size_t row_floats = 3;
  for (const auto& a : v.attributes) row_floats += size_t(a.channels);
  std::vector<float> row(row_floats);
  for (size_t i = 0; i < n; ++i) {
    size_t k = 0;
    for (int c = 0; c < 3; ++c) row[k++] = float(v.coords[3 * i + size_t(c)]);
    for (const auto& a : v.attributes)
      for (int c = 0; c < a.channels; ++c) row[k++] = a.data[i * size_t(a.channels) + size_t(c)];
    w.bytes(row.data(), row.size() * sizeof(float));
  }
  w.commit();
}

OVoxel read_ovoxel_ply(const std::string& path) {
  PlyReader r("read_ovoxel_ply", path);
  if (r.elements().empty() || r.elements()[0].name != "vertex") r.bad("the first element must be 'vertex' (the voxels)");
  const PlyElement& e = r.elements()[0];
  const int ix = find_prop(e, "x"), iy = find_prop(e, "y"), iz = find_prop(e, "z");
  if (ix < 0 || iy < 0 || iz < 0) r.bad("element 'vertex' has no x, y and z properties");
  for (const auto& p : e.props)
    if (p.is_list) r.bad("element 'vertex' has a list property '{}'; voxels carry scalars only", printable(p.name, 80));

  OVoxel v;
  for (const std::string& c : r.comments()) {
    std::istringstream ss(c);
    std::string kw;
    ss >> kw;
    if (kw == "resolution") {
      std::array<int64_t, 3> res{};
      if (!(ss >> res[0] >> res[1] >> res[2])) r.bad("malformed comment '{}'", printable(c, 80));
      for (int k = 0; k < 3; ++k) {
        if (res[k] < 0 || res[k] > INT32_MAX) r.bad("resolution {} out of range in comment '{}'", res[k], printable(c, 80));
        v.resolution[k] = int32_t(res[k]);
      }
    } else if (kw == "aabb") {
      Aabb b;
      if (!(ss >> b.min[0] >> b.min[1] >> b.min[2] >> b.max[0] >> b.max[1] >> b.max[2]))
        r.bad("malformed comment '{}'", printable(c, 80));
      v.aabb = b;
    }
  }

  // Attribute channels: NAME_j -> (attribute NAME, channel j) in file order.
  struct Slot {
    size_t attr;
    int channel;
  };
  std::vector<std::optional<Slot>> slot(e.props.size());
  std::vector<std::vector<std::pair<int, size_t>>> chans;  // per attribute: (j, property)
  for (size_t k = 0; k < e.props.size(); ++k) {
    if (int(k) == ix || int(k) == iy || int(k) == iz) continue;
    const std::string& pn = e.props[k].name;
    std::string name = pn;
    int j = 0;
    const size_t us = pn.rfind('_');
    if (us != std::string::npos && us > 0 && us + 1 < pn.size() && pn.size() - us <= 7 &&
        pn.find_first_not_of("0123456789", us + 1) == std::string::npos) {
      name = pn.substr(0, us);
      j = std::stoi(pn.substr(us + 1));
    }
    size_t a = 0;
    while (a < v.attributes.size() && v.attributes[a].name != name) ++a;
    if (a == v.attributes.size()) {
      v.attributes.push_back({name, 0, {}});
      chans.emplace_back();
    }
    chans[a].emplace_back(j, k);
  }
  for (size_t a = 0; a < v.attributes.size(); ++a) {
    auto& c = chans[a];
    std::sort(c.begin(), c.end());
    for (size_t j = 0; j < c.size(); ++j)
      if (c[j].first != int(j))
        r.bad("attribute '{}': channel properties must be {}_0 .. {}_{} exactly once each", v.attributes[a].name,
              v.attributes[a].name, v.attributes[a].name, c.size() - 1);
    v.attributes[a].channels = int(c.size());
    for (const auto& [j, k] : c) slot[k] = Slot{a, j};
  }

  r.check_rows(e, r.min_stride(e));
  const size_t n = size_t(e.count);
  if (n > size_t(INT32_MAX)) r.bad("{} voxels exceed the int32 range", n);
  v.coords.resize(3 * n);
  for (auto& a : v.attributes) a.data.resize(n * size_t(a.channels));
  std::vector<double> s;
  const int xyz[3] = {ix, iy, iz};
  for (size_t i = 0; i < n; ++i) {
    r.read_row(e, s, [](size_t, uint64_t) {});
    for (int k = 0; k < 3; ++k) {
      const double c = std::round(s[size_t(xyz[k])]);
      if (!(c >= double(INT32_MIN) && c <= double(INT32_MAX))) r.bad("voxel {}: coordinate {} is not a valid integer", i, s[size_t(xyz[k])]);
      v.coords[3 * i + size_t(k)] = int32_t(c);
    }
    for (size_t k = 0; k < e.props.size(); ++k)
      if (slot[k]) {
        auto& a = v.attributes[slot[k]->attr];
        a.data[i * size_t(a.channels) + size_t(slot[k]->channel)] = float(s[k]);
      }
  }
  try {
    v.validate();
  } catch (const Error& err) {
    r.bad("{}", err.what());
  }
  return v;
}

}  // namespace tessera::meshing
