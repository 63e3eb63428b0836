// Module: a tree of named parameters whose full dotted names are exactly the
// checkpoint's tensor names, as PyTorch's state_dict() would name them
// ("blocks.0.self_attn.to_qkv.weight"). Loading is a walk over those names.
//
// load_state() first checks the whole tree against the file (every name
// present, every shape equal, every dtype convertible, extra tensors per the
// options), then allocates every tensor, then uploads; only when all of that
// succeeded are the parameters replaced. A failure at any step leaves the
// module as it was: there is no partial load.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/device.hpp"
#include "core/dtype.hpp"
#include "core/shape.hpp"
#include "core/tensor.hpp"

namespace tessera {
class SafetensorsFile;
}

namespace tessera::models {

struct Parameter {
  std::string name;  // local name, "weight"
  Shape shape;       // expected shape (the checkpoint's)
  DType dtype;       // storage dtype on the device; the file's dtype is converted to it
  bool optional = false;  // may be absent from the checkpoint (left undefined)
  Tensor value;           // undefined until loaded
};

enum class ExtraTensorPolicy { ignore, warn, error };

struct LoadOptions {
  ExtraTensorPolicy extra = ExtraTensorPolicy::warn;  // tensors in the file that no parameter names
  size_t max_listed = 10;                             // names listed per problem in a message
  // Only file tensors whose name starts with `prefix` belong to this module
  // (the prefix is stripped), e.g. "model." for a wrapped state dict.
  std::string prefix;
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The class name used in messages ("SparseStructureFlowModel").
  virtual std::string type_name() const { return "Module"; }

  // Register a parameter / a child. Names are non-empty, contain no '.', and
  // are unique among this module's parameters and children. References stay
  // valid for the module's life.
  Parameter& register_parameter(const std::string& name, Shape shape, DType dtype, bool optional = false);
  template <typename M>
  M& register_module(const std::string& name, std::unique_ptr<M> m) {
    M& ref = *m;
    add_child(name, std::move(m));
    return ref;
  }
  template <typename M, typename... A>
  M& emplace_module(const std::string& name, A&&... args) {
    return register_module(name, std::make_unique<M>(std::forward<A>(args)...));
  }

  Parameter* parameter(const std::string& local_name);  // nullptr if absent
  Module* child(const std::string& name) const;         // nullptr if absent
  const std::vector<std::pair<std::string, std::unique_ptr<Module>>>& children() const { return children_; }
  const std::vector<std::unique_ptr<Parameter>>& parameters() const { return params_; }

  struct NamedParameter {
    std::string name;  // full dotted name
    Parameter* param;
  };
  // PyTorch order: this module's parameters in registration order, then each
  // child's, depth first, in registration order.
  std::vector<NamedParameter> named_parameters(const std::string& prefix = "") const;
  int64_t num_elements() const;  // sum of parameter numels
  bool loaded() const;           // every non-optional parameter has a value

  void load_state(const SafetensorsFile& file, Device& dev, const LoadOptions& opts = {});

 protected:
  void add_child(const std::string& name, std::unique_ptr<Module> m);

 private:
  void check_new_name(const std::string& name) const;
  std::vector<std::unique_ptr<Parameter>> params_;
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
};

// nn.ModuleList: children named "0", "1", ...
class ModuleList : public Module {
 public:
  std::string type_name() const override { return "ModuleList"; }
  template <typename M>
  M& append(std::unique_ptr<M> m) {
    return register_module(std::to_string(children().size()), std::move(m));
  }
  size_t size() const { return children().size(); }
  Module& operator[](size_t i) const { return *children().at(i).second; }
};

}  // namespace tessera::models
