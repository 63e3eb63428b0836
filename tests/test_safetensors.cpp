// safetensors reader/writer: round trips for every dtype, dtype conversion on
// load, chunked uploads, and every hostile-file case of issue 7 (each must be
// a one-line tessera::Error naming the file and the problem).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <random>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/safetensors.hpp"

using namespace tessera;

namespace {

std::string tmp_file(const std::string& name) {
  return ::testing::TempDir() + "tessera_st_" + std::to_string(::getpid()) + "_" + name;
}

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_all(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream o(path, std::ios::binary);
  o.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

// A file from a raw header string and `data_bytes` data bytes (0, 1, 2, ...).
std::vector<uint8_t> make_file(const std::string& header, size_t data_bytes, uint64_t claimed_len = UINT64_MAX) {
  uint64_t n = claimed_len == UINT64_MAX ? header.size() : claimed_len;
  std::vector<uint8_t> b(8 + header.size() + data_bytes);
  for (int i = 0; i < 8; ++i) b[size_t(i)] = uint8_t(n >> (8 * i));
  if (!header.empty()) std::memcpy(b.data() + 8, header.data(), header.size());
  for (size_t i = 0; i < data_bytes; ++i) b[8 + header.size() + i] = uint8_t(i);
  return b;
}

// Parse `bytes`, expect an Error whose one-line message contains every needle.
void expect_rejected(const std::vector<uint8_t>& bytes, std::initializer_list<const char*> needles) {
  try {
    SafetensorsFile::from_bytes(bytes, "evil.safetensors");
    ADD_FAILURE() << "accepted a hostile file; expected: " << *needles.begin();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_NE(m.find("safetensors file 'evil.safetensors'"), std::string::npos) << m;
    for (const char* n : needles) EXPECT_NE(m.find(n), std::string::npos) << "missing '" << n << "' in: " << m;
  }
}

std::string header1(const std::string& entry) { return "{\"t\":" + entry + "}"; }

}  // namespace

// ---- round trips ------------------------------------------------------------------

TEST(Safetensors, RoundTripEveryDtype) {
  std::vector<double> f64 = {1.5, -2.25, 1e300, 0.0};
  std::vector<float> f32 = {1.f, -0.5f, 3.25f, 1e-30f, 65504.f, -7.f};
  std::vector<uint16_t> f16 = {0x3c00, 0xc000, 0x7bff, 0x0001};
  std::vector<uint16_t> bf16 = {0x3f80, 0xbf00, 0x7f7f, 0x0080, 0x4049};
  std::vector<int64_t> i64 = {INT64_MIN, -1, 0, INT64_MAX};
  std::vector<int32_t> i32 = {INT32_MIN, 7, INT32_MAX};
  std::vector<int16_t> i16 = {-32768, 5, 32767};
  std::vector<int8_t> i8 = {-128, 0, 127};
  std::vector<uint8_t> u8 = {0, 128, 255};
  std::vector<uint8_t> bl = {0, 1, 1, 0};
  std::vector<SafetensorsEntry> es = {
      SafetensorsEntry::from_host("a.f64", StDType::F64, {2, 2}, f64.data()),
      SafetensorsEntry::from_host("b.f32", StDType::F32, {2, 3}, f32.data()),
      SafetensorsEntry::from_host("c.f16", StDType::F16, {4}, f16.data()),
      SafetensorsEntry::from_host("d.bf16", StDType::BF16, {5, 1}, bf16.data()),
      SafetensorsEntry::from_host("e.i64", StDType::I64, {4}, i64.data()),
      SafetensorsEntry::from_host("f.i32", StDType::I32, {3}, i32.data()),
      SafetensorsEntry::from_host("g.i16", StDType::I16, {3}, i16.data()),
      SafetensorsEntry::from_host("h.i8", StDType::I8, {3}, i8.data()),
      SafetensorsEntry::from_host("i.u8", StDType::U8, {1, 3}, u8.data()),
      SafetensorsEntry::from_host("j.bool", StDType::BOOL, {2, 2}, bl.data()),
      SafetensorsEntry::from_host("k.empty", StDType::F32, {0, 4}, nullptr),
      SafetensorsEntry::from_host("l.scalar", StDType::F32, {}, f32.data()),
  };
  std::string path = tmp_file("all.safetensors");
  write_safetensors(path, es, {{"format", "pt"}, {"note", "h\xc3\xa9llo"}});
  SafetensorsFile f(path);
  EXPECT_EQ(f.tensors().size(), es.size());
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("note"), "h\xc3\xa9llo");
  for (const auto& e : es) {
    const TensorInfo& t = f.info(e.name);
    EXPECT_EQ(t.dtype, e.dtype) << e.name;
    EXPECT_EQ(t.shape, e.shape) << e.name;
    EXPECT_EQ(t.nbytes(), uint64_t(shape_numel(e.shape)) * st_dtype_size(e.dtype)) << e.name;
    if (t.nbytes()) {
      EXPECT_EQ(std::memcmp(f.raw(t), e.host, size_t(t.nbytes())), 0) << e.name;
    }
  }
  // Tensors are listed by name; find() and contains() agree.
  for (size_t i = 1; i < f.tensors().size(); ++i) EXPECT_LT(f.tensors()[i - 1].name, f.tensors()[i].name);
  EXPECT_TRUE(f.contains("b.f32"));
  EXPECT_FALSE(f.contains("zz"));
  EXPECT_EQ(f.find("zz"), nullptr);

  // Official layout: 8-byte aligned header, larger element types first, packed.
  auto bytes = read_all(path);
  uint64_t hl = 0;
  for (int i = 7; i >= 0; --i) hl = (hl << 8) | bytes[size_t(i)];
  EXPECT_EQ(hl % 8, 0u);
  EXPECT_EQ(bytes[8 + hl - 1] == ' ' || bytes[8 + hl - 1] == '}', true);
  std::vector<const TensorInfo*> by_off;
  for (const auto& t : f.tensors()) by_off.push_back(&t);
  std::sort(by_off.begin(), by_off.end(), [](auto* a, auto* b) { return a->begin != b->begin ? a->begin < b->begin : a->name < b->name; });
  uint64_t off = 0;
  size_t prev_size = 8;
  for (auto* t : by_off) {
    EXPECT_EQ(t->begin, off) << t->name;
    EXPECT_LE(st_dtype_size(t->dtype), prev_size) << t->name;
    EXPECT_EQ(t->begin % st_dtype_size(t->dtype), 0u) << t->name;
    prev_size = st_dtype_size(t->dtype);
    off = t->end;
  }
  EXPECT_EQ(8 + hl + off, bytes.size());
  std::remove(path.c_str());
}

TEST(Safetensors, LoadToCpuWithConversion) {
  Device& cpu = BackendRegistry::get().cpu();
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.f, 10.f);
  std::vector<uint16_t> bf(1000);
  std::vector<float> f32(1000);
  std::vector<double> f64(10);
  for (auto& v : bf) v = f32_to_bf16(nd(rng));
  for (auto& v : f32) v = nd(rng);
  f32[0] = 1.0f + 1.0f / 2048.0f;  // a tie in f16: rounds to even (1.0)
  f32[1] = 1e6f;                   // overflows f16 -> inf
  for (size_t i = 0; i < f64.size(); ++i) f64[i] = 0.1 * double(i) + 1e-12;
  std::vector<int64_t> i64 = {1, -2, 3, 1ll << 40};
  std::vector<uint8_t> bl = {0, 1, 2, 255};
  std::string path = tmp_file("conv.safetensors");
  write_safetensors(path, {SafetensorsEntry::from_host("bf", StDType::BF16, {10, 100}, bf.data()),
                           SafetensorsEntry::from_host("f32", StDType::F32, {1000}, f32.data()),
                           SafetensorsEntry::from_host("f64", StDType::F64, {10}, f64.data()),
                           SafetensorsEntry::from_host("i64", StDType::I64, {4}, i64.data()),
                           SafetensorsEntry::from_host("bool", StDType::BOOL, {4}, bl.data())});
  SafetensorsFile f(path);

  // bf16 -> f32 is exact.
  Tensor t = f.load("bf", cpu, DType::f32);
  EXPECT_EQ(t.shape(), (Shape{10, 100}));
  auto v = t.to_vector<float>();
  for (size_t i = 0; i < bf.size(); ++i) ASSERT_EQ(v[i], bf16_to_f32(bf[i])) << i;
  // bf16 kept as bf16: identical bits; the CPU backend prefers f32 (no bf16 arithmetic).
  auto raw = f.load("bf", cpu, DType::bf16).to_vector<uint16_t>();
  EXPECT_EQ(raw, bf);
  EXPECT_EQ(f.load("bf", cpu).dtype(), preferred_load_dtype(StDType::BF16, cpu));
  EXPECT_EQ(preferred_load_dtype(StDType::BF16, cpu), cpu.info().bf16 ? DType::bf16 : DType::f32);
  // bf16 -> f16 rounds through f32.
  auto h = f.load("bf", cpu, DType::f16).to_vector<uint16_t>();
  for (size_t i = 0; i < bf.size(); ++i) ASSERT_EQ(h[i], f32_to_f16(bf16_to_f32(bf[i]))) << i;
  // f32 -> f16 is rounded to nearest even, overflow -> inf.
  auto h2 = f.load("f32", cpu, DType::f16).to_vector<uint16_t>();
  for (size_t i = 0; i < f32.size(); ++i) ASSERT_EQ(h2[i], f32_to_f16(f32[i])) << i;
  EXPECT_EQ(h2[0], 0x3c00);
  EXPECT_EQ(h2[1], 0x7c00);
  // f32 -> bf16.
  auto b2 = f.load("f32", cpu, DType::bf16).to_vector<uint16_t>();
  for (size_t i = 0; i < f32.size(); ++i) ASSERT_EQ(b2[i], f32_to_bf16(f32[i])) << i;
  // F64 -> f32 (allowed, rounded).
  auto d = f.load("f64", cpu).to_vector<float>();
  for (size_t i = 0; i < f64.size(); ++i) EXPECT_EQ(d[i], float(f64[i]));
  // I64 -> i64 / f32; narrowing to i32 is range-checked.
  EXPECT_EQ(f.load("i64", cpu).to_vector<int64_t>(), i64);
  EXPECT_EQ(f.load("i64", cpu, DType::f32).to_vector<float>()[3], float(1ll << 40));
  try {
    f.load("i64", cpu, DType::i32);
    ADD_FAILURE() << "narrowing accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'i64': element 3 = 1099511627776 does not fit i32"), std::string::npos)
        << e.what();
  }
  // BOOL loads as u8 0/1.
  EXPECT_EQ(f.load("bool", cpu).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 1, 1, 1}));
  // Float -> integer is refused.
  try {
    f.load("f32", cpu, DType::i32);
    ADD_FAILURE() << "float -> int accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot load F32 as i32"), std::string::npos) << e.what();
  }
  // A missing tensor names the file and the tensor.
  try {
    f.load("nope", cpu);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tensor named 'nope'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

TEST(Safetensors, ChunkedUploadMatchesWholeTensor) {
  Device& cpu = BackendRegistry::get().cpu();
  std::vector<uint16_t> bf(4099);
  for (size_t i = 0; i < bf.size(); ++i) bf[i] = f32_to_bf16(float(i) * 0.37f - 700.f);
  std::string path = tmp_file("chunk.safetensors");
  write_safetensors(path, {SafetensorsEntry::from_host("w", StDType::BF16, {4099}, bf.data())});
  SafetensorsFile f(path);
  size_t saved = SafetensorsFile::chunk_bytes();
  SafetensorsFile::set_chunk_bytes(100);  // 25 f32 / 50 bf16 elements per chunk, ragged tail
  auto v = f.load("w", cpu, DType::f32).to_vector<float>();
  auto same = f.load("w", cpu, DType::bf16).to_vector<uint16_t>();
  SafetensorsFile::set_chunk_bytes(saved);
  for (size_t i = 0; i < bf.size(); ++i) ASSERT_EQ(v[i], bf16_to_f32(bf[i])) << i;
  EXPECT_EQ(same, bf);
  // convert_range on a slice.
  std::vector<float> part(10);
  f.convert_range(f.info("w"), 4000, 10, DType::f32, part.data());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(part[size_t(i)], bf16_to_f32(bf[size_t(4000 + i)]));
  std::remove(path.c_str());
}

TEST(Safetensors, WriterFromTensors) {
  Device& cpu = BackendRegistry::get().cpu();
  std::vector<float> a = {1, 2, 3, 4, 5, 6};
  std::vector<uint8_t> m = {1, 0, 1};
  Tensor ta = Tensor::from_vector(a, {2, 3}, DType::f32, cpu);
  Tensor tm = Tensor::from_vector(m, {3}, DType::u8, cpu);
  std::string path = tmp_file("tensors.safetensors");
  size_t saved = SafetensorsFile::chunk_bytes();
  SafetensorsFile::set_chunk_bytes(16);  // chunked download path
  write_safetensors(path, {SafetensorsEntry::from_tensor("x.weight", ta), SafetensorsEntry::from_tensor("mask", tm, StDType::BOOL)});
  SafetensorsFile::set_chunk_bytes(saved);
  SafetensorsFile f(path);
  EXPECT_EQ(f.info("mask").dtype, StDType::BOOL);
  EXPECT_EQ(f.load("x.weight", cpu).to_vector<float>(), a);
  EXPECT_EQ(f.load("mask", cpu).to_vector<uint8_t>(), m);
  // Bad writer input: duplicate names, reserved name, non-UTF-8 name.
  EXPECT_THROW(write_safetensors(path, {SafetensorsEntry::from_tensor("x", ta), SafetensorsEntry::from_tensor("x", ta)}), Error);
  EXPECT_THROW(write_safetensors(path, {SafetensorsEntry::from_tensor("__metadata__", ta)}), Error);
  EXPECT_THROW(write_safetensors(path, {SafetensorsEntry::from_tensor("bad\xff", ta)}), Error);
  EXPECT_THROW(SafetensorsEntry::from_tensor("x", ta, StDType::F16), Error);
  // The failed writes left the earlier file intact.
  EXPECT_EQ(SafetensorsFile(path).tensors().size(), 2u);
  std::remove(path.c_str());
}

TEST(Safetensors, HeaderWithMetadataAndPaddingParses) {
  // Hand-written header: __metadata__, trailing spaces, zero-size tensor sharing an offset.
  std::string h = R"({"__metadata__":{"a":"b"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("z":{"dtype":"F16","shape":[0],"data_offsets":[8,8]},"y":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}   )";
  auto f = SafetensorsFile::from_bytes(make_file(h, 11));
  EXPECT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.info("y").begin, 8u);
  EXPECT_EQ(f.metadata().at("a"), "b");
}

// ---- hostile files ---------------------------------------------------------------

TEST(SafetensorsHostile, TruncatedFiles) {
  expect_rejected({}, {"truncated", "fewer than the 8-byte header length"});
  expect_rejected({1, 2, 3}, {"truncated", "3 bytes"});
  // A valid file cut short inside the data section.
  std::string h = header1(R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})");
  auto good = make_file(h, 16);
  EXPECT_NO_THROW(SafetensorsFile::from_bytes(good));
  auto cut = good;
  cut.resize(cut.size() - 3);
  expect_rejected(cut, {"tensor 't'", "extend past the data section of 13 bytes"});
  // ... and cut inside the header.
  auto cut2 = good;
  cut2.resize(20);
  expect_rejected(cut2, {"header claims", "only 12 bytes"});
}

TEST(SafetensorsHostile, HeaderLengthBeyondFileOrCap) {
  expect_rejected(make_file("{}", 0, 1ull << 40), {"header claims 1099511627776 bytes"});
  expect_rejected(make_file("{}", 0, UINT64_MAX - 1), {"header claims"});
  // A real (sparse) file larger than the cap whose header claims more than 100 MiB.
  std::string path = tmp_file("huge.safetensors");
  {
    auto b = make_file("{", 0, (100ull << 20) + 1);
    write_all(path, b);
    ASSERT_EQ(::truncate(path.c_str(), off_t(101ull << 20)), 0);
  }
  try {
    SafetensorsFile f(path);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the 104857600 byte limit"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

TEST(SafetensorsHostile, FilesOnDisk) {
  std::string path = tmp_file("empty.safetensors");
  write_all(path, {});
  try {
    SafetensorsFile f(path);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
  try {
    SafetensorsFile f(tmp_file("does-not-exist"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SafetensorsFile(::testing::TempDir()), Error);  // a directory
}

TEST(SafetensorsHostile, BadJson) {
  expect_rejected(make_file("not json", 0), {"does not start with '{'"});
  expect_rejected(make_file("{\"a\":", 0), {"not valid JSON"});
  expect_rejected(make_file("{\"a\":1} trailing", 0), {"not valid JSON"});
  expect_rejected(make_file("{\"t\":5}", 0), {"tensor 't'", "expected an object"});
  expect_rejected(make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8),
                  {"duplicate tensor name 't'"});
  expect_rejected(make_file(R"({"__metadata__":{"a":1}})", 0), {"__metadata__ entry 'a'", "expected a string"});
  expect_rejected(make_file(R"({"__metadata__":[1]})", 0), {"__metadata__ is an array"});
  expect_rejected(make_file(R"({"":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})", 0), {"empty tensor name"});
}

TEST(SafetensorsHostile, NonUtf8Names) {
  // Raw invalid bytes in a key: rejected by the JSON parser.
  expect_rejected(make_file("{\"bad\xff\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0), {"UTF-8"});
  // Overlong encoding of '/'.
  expect_rejected(make_file("{\"a\xc0\xaf\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0), {"UTF-8"});
  // Escaped lone surrogate.
  expect_rejected(make_file(R"({"a\ud800":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})", 0), {"not valid JSON"});
  // Control character (escaped): refused so messages stay on one line.
  expect_rejected(make_file(R"({"a\nb":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})", 0), {"control characters"});
}

TEST(SafetensorsHostile, WrongDtypeStrings) {
  expect_rejected(make_file(header1(R"({"dtype":"F33","shape":[1],"data_offsets":[0,4]})"), 4), {"tensor 't'", "unknown dtype 'F33'"});
  expect_rejected(make_file(header1(R"({"dtype":"float32","shape":[1],"data_offsets":[0,4]})"), 4), {"unknown dtype 'float32'"});
  expect_rejected(make_file(header1(R"({"dtype":"U16","shape":[1],"data_offsets":[0,2]})"), 2), {"unsupported dtype 'U16'"});
  expect_rejected(make_file(header1(R"({"dtype":7,"shape":[1],"data_offsets":[0,4]})"), 4), {"dtype is an integer"});
}

TEST(SafetensorsHostile, BadEntries) {
  expect_rejected(make_file(header1(R"({"shape":[1],"data_offsets":[0,4]})"), 4), {"missing 'dtype'"});
  expect_rejected(make_file(header1(R"({"dtype":"F32","data_offsets":[0,4]})"), 4), {"missing 'shape'"});
  expect_rejected(make_file(header1(R"({"dtype":"F32","shape":[1]})"), 4), {"missing 'data_offsets'"});
  expect_rejected(make_file(header1(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1})"), 4), {"unexpected key 'x'"});
  expect_rejected(make_file(header1(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})"), 4), {"non-negative integers"});
  expect_rejected(make_file(header1(R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,4]})"), 4), {"non-negative integers"});
  expect_rejected(make_file(header1(R"({"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]})"), 4), {"rank 9 exceeds"});
  expect_rejected(make_file(header1(R"({"dtype":"F32","shape":[1],"data_offsets":[0]})"), 4), {"array of two integers"});
  expect_rejected(make_file(header1(R"({"dtype":"F32","shape":[1],"data_offsets":[-4,0]})"), 4), {"non-negative"});
  expect_rejected(make_file(header1(R"({"dtype":"F32","shape":[1],"data_offsets":[4,0]})"), 4), {"begin > end"});
  expect_rejected(make_file(header1(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})"), 8), {"span 4 bytes but F32 [2] needs 8 bytes"});
  expect_rejected(make_file(header1(R"({"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]})"), 4),
                  {"extend past the data section"});
  expect_rejected(make_file(header1(R"({"dtype":"F32","shape":[1],"data_offsets":[0,1e3]})"), 4), {"non-negative integers"});
}

TEST(SafetensorsHostile, AbsurdShapes) {
  expect_rejected(make_file(header1(R"({"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]})"), 4),
                  {"tensor 't'", "overflows"});
  expect_rejected(make_file(header1(R"({"dtype":"F64","shape":[9223372036854775807,2],"data_offsets":[0,4]})"), 4), {"overflows"});
  expect_rejected(make_file(header1(R"({"dtype":"I64","shape":[4611686018427387904],"data_offsets":[0,4]})"), 4), {"overflows"});
  expect_rejected(make_file(header1(R"({"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,4]})"), 4), {"too large"});
  // Huge but not overflowing: caught by the size check, nothing is allocated.
  expect_rejected(make_file(header1(R"({"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4]})"), 4), {"needs 4000000000000 bytes"});
}

TEST(SafetensorsHostile, OverlappingRanges) {
  expect_rejected(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
                  {"tensors 'a' [0, 8] and 'b' [4, 12] overlap"});
  // Identical ranges (aliasing).
  expect_rejected(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})", 4),
                  {"overlap"});
  // One range inside a larger one, found even with a third range between them in offset order.
  expect_rejected(make_file(R"({"big":{"dtype":"U8","shape":[16],"data_offsets":[0,16]},"in":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},)"
                            R"("late":{"dtype":"U8","shape":[2],"data_offsets":[10,12]}})", 16),
                  {"overlap"});
}

TEST(SafetensorsHostile, RandomBitFlipsNeverCrash) {
  std::vector<float> a(64, 1.f);
  std::vector<uint16_t> b(33, 0x3f80);
  std::string path = tmp_file("flip.safetensors");
  write_safetensors(path, {SafetensorsEntry::from_host("a.weight", StDType::F32, {8, 8}, a.data()),
                           SafetensorsEntry::from_host("b.bias", StDType::BF16, {33}, b.data())},
                    {{"k", "v"}});
  auto good = read_all(path);
  std::remove(path.c_str());
  Device& cpu = BackendRegistry::get().cpu();
  std::mt19937 rng(5);
  int accepted = 0;
  for (int it = 0; it < 3000; ++it) {
    auto bytes = good;
    int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] ^= uint8_t(1u << (rng() % 8));
    if (rng() % 8 == 0) bytes.resize(rng() % bytes.size());
    try {
      auto f = SafetensorsFile::from_bytes(bytes, "flip");
      for (const auto& t : f.tensors()) f.load(t.name, cpu, natural_dtype(t.dtype));
      ++accepted;
    } catch (const Error& e) {
      ASSERT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(accepted, 0);  // flips inside tensor data are fine
}
