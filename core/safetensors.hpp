// safetensors: a memory-mapped, strictly validated reader and a writer.
//
// Format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON, then the data section. The JSON maps each
// tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the data section) and may hold "__metadata__" (string -> string).
//
// The reader validates the whole header against the file size before any
// tensor byte is read (docs/checkpoints.md lists every rule); any violation
// throws tessera::Error with a one-line message naming the file and, where
// there is one, the tensor. Tensor bytes are read lazily from the mapping and
// converted to the requested dtype in bounded host chunks while uploading, so
// loading never holds a second full copy of a checkpoint in host memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/device.hpp"
#include "core/dtype.hpp"
#include "core/shape.hpp"
#include "core/tensor.hpp"

namespace tessera {

// Element types of the safetensors format that Tessera reads. (U16, U32, U64,
// F8_*, complex types are recognised and refused with "unsupported dtype".)
enum class StDType : uint8_t { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

const char* st_dtype_name(StDType t);  // "BF16"
size_t st_dtype_size(StDType t);
// The file dtype of a Tessera dtype (f32 -> F32, ..., u8 -> U8).
StDType st_dtype_of(DType t);
// The Tessera dtype a file dtype is loaded as when no target is given
// (F64 -> f32, I16/I8 -> i32, BOOL -> u8, others the same type).
DType natural_dtype(StDType t);
// The dtype a float tensor is stored in on `dev` by default: the file's float
// type if the device does arithmetic in it (DeviceInfo::fp16 / bf16), else
// f32 (never f16 for a BF16 tensor: f16 cannot hold bf16's range). Non-float
// types map as natural_dtype().
DType preferred_load_dtype(StDType t, const Device& dev);
// Whether a tensor of file type `src` may be loaded as `dst`: float -> any
// float; integers/BOOL -> any integer (range-checked when narrowing) or float.
// Float -> integer is refused.
bool st_can_convert(StDType src, DType dst);

struct TensorInfo {
  std::string name;
  StDType dtype = StDType::F32;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte range inside the data section
  int64_t numel() const;        // validated not to overflow
  uint64_t nbytes() const { return end - begin; }
};

class SafetensorsFile {
 public:
  static constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // 100 MiB
  static constexpr int kMaxRank = kMaxDims;

  // Map and validate `path`. Throws Error (one line, names the file).
  explicit SafetensorsFile(const std::string& path);
  // Validate an in-memory file (tests, fuzzing). `name` is used in messages.
  static SafetensorsFile from_bytes(std::vector<uint8_t> bytes, const std::string& name = "<memory>");

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return size_; }
  // Tensors sorted by name.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  const TensorInfo* find(const std::string& name) const;  // nullptr if absent
  const TensorInfo& info(const std::string& name) const;  // throws naming file and tensor

  // The tensor's bytes inside the mapping (a view, nothing is copied; valid
  // while this object lives). May be unaligned.
  const uint8_t* raw(const TensorInfo& t) const { return data_ + t.begin; }

  // Convert elements [first, first + count) of `t` to `dst_type` into `dst`
  // (host memory). Throws for a refused conversion or an out-of-range integer.
  void convert_range(const TensorInfo& t, int64_t first, int64_t count, DType dst_type, void* dst) const;
  // The whole tensor converted into host memory (dst holds numel * dtype_size).
  void read_into(const std::string& name, DType dst_type, void* dst) const;

  // Load a tensor onto `dev` as `target`, converting in bounded host chunks
  // (chunk_bytes of converted data at a time; identical types upload straight
  // from the mapping). After loading, the tensor's pages are released from the
  // mapping (MADV_DONTNEED), so resident memory stays ~one chunk per tensor.
  Tensor load(const std::string& name, Device& dev, DType target) const;
  Tensor load(const std::string& name, Device& dev) const;  // preferred_load_dtype()
  // Upload into an existing contiguous tensor of the same numel (used by
  // Module::load_state so that every allocation happens before any upload).
  void load_into(const TensorInfo& t, Tensor& dst) const;

  // Host chunk size for conversion and uploads: 8 MiB by default
  // (TESSERA_LOAD_CHUNK_BYTES overrides); set_chunk_bytes is for tests.
  static size_t chunk_bytes();
  static void set_chunk_bytes(size_t bytes);

 private:
  SafetensorsFile() = default;
  void parse();  // validates everything; fills tensors_/metadata_
  void release_pages(const TensorInfo& t) const;
  [[noreturn]] void fail_file(const std::string& msg) const;

  std::string path_;
  const uint8_t* base_ = nullptr;  // whole file
  uint64_t size_ = 0;
  const uint8_t* data_ = nullptr;  // data section
  uint64_t data_size_ = 0;
  void* map_ = nullptr;  // mmap region (nullptr for from_bytes)
  size_t map_size_ = 0;
  std::vector<uint8_t> owned_;  // from_bytes storage
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// One tensor to write: either a Tensor (any device; downloaded in chunks) or
// host memory (numel * st_dtype_size bytes, not copied, must outlive the call).
struct SafetensorsEntry {
  std::string name;
  StDType dtype = StDType::F32;
  Shape shape;
  const void* host = nullptr;
  Tensor tensor;

  static SafetensorsEntry from_tensor(std::string name, const Tensor& t);
  // A u8 tensor written as BOOL, etc.: dtype must have the tensor's element size.
  static SafetensorsEntry from_tensor(std::string name, const Tensor& t, StDType as);
  static SafetensorsEntry from_host(std::string name, StDType dtype, Shape shape, const void* data);
};

// Write a safetensors file the way the official writer lays it out: tensors
// ordered by alignment (larger element size first) then name, packed with no
// gaps; header padded with spaces to a multiple of 8 bytes. Written to
// `path.tmp` and renamed, so a failed write never leaves a partial file.
void write_safetensors(const std::string& path, const std::vector<SafetensorsEntry>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// For messages: `s` with non-printable / non-ASCII bytes as \xNN, cut to max_len.
std::string printable(const std::string& s, size_t max_len = 120);
// Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool is_valid_utf8(const std::string& s);

}  // namespace tessera
