#include "core/tuner.hpp"

namespace tessera {

static std::vector<TunerDef>& tuner_list() {
  static std::vector<TunerDef> t;
  return t;
}

void register_tuner(TunerDef def) { tuner_list().push_back(std::move(def)); }
const std::vector<TunerDef>& tuners() { return tuner_list(); }

}  // namespace tessera
