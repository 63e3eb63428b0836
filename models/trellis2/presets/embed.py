#!/usr/bin/env python3
"""Regenerates models/trellis2/presets_data.cpp from tiny.json and released.json
(the test Trellis2Modules.PresetsEmbeddedInTheBinaryMatchTheSourceFiles fails
until this is run after editing a preset)."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
out = ['// Generated from models/trellis2/presets/{tiny,released}.json (tests check they match).',
       '#include <string>', 'namespace tessera::models::trellis2::presets {']
for n in ['tiny', 'released']:
    t = open(os.path.join(HERE, n + '.json')).read()
    assert ')TESSERA_JSON"' not in t
    out.append('extern const char* const k%s;' % n.capitalize())
    out.append('const char* const k%s = R"TESSERA_JSON(%s)TESSERA_JSON";' % (n.capitalize(), t))
out.append('}  // namespace tessera::models::trellis2::presets')
open(os.path.join(HERE, '..', 'presets_data.cpp'), 'w').write('\n'.join(out) + '\n')
