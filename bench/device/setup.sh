# Tessera device-run environment.  SOURCE it (do not execute) from the repo
# root at the start of every command on the lent GPU machine:
#
#     source bench/device/setup.sh; <your commands>
#
# Carry `.gl`, `.debs` and `.device` with the run.  Steps (one line each):
#   gl     unpack .gl/*.deb (Vulkan/GL loaders) into / and ldconfig, as the
#          device README says (skipped when the loaders are already there)
#   debs   unpack .debs/*.deb into $TDEPS (default /tmp/tdeps), never into /
#   ldpath prepend .device, .device/lib and $TDEPS lib dirs to LD_LIBRARY_PATH
#   opencl write $TDEPS/icd/nvidia.icd naming libnvidia-opencl.so* and set
#          OCL_ICD_VENDORS to that directory
#   vulkan set VK_DRIVER_FILES only when no NVIDIA ICD json is in the
#          standard places (same for EGL's vendor json)
#   check  ldd every ELF in .device and report unresolved libraries
# It never calls `exit` and leaves shell options (set -e/-u) alone.
# Knobs: TDEPS=dir, TESSERA_NVIDIA_OPENCL=/path/to/libnvidia-opencl.so.1,
#        TESSERA_GL_FORCE=1 (always unpack .gl), TESSERA_SETUP_QUIET=1.

_tsetup_say() { [ "${TESSERA_SETUP_QUIET:-0}" = 1 ] || echo "[setup] $*"; }

# Prepend (or append with $2=append) a directory to LD_LIBRARY_PATH, once.
_tsetup_ldpath() {
  [ -d "$1" ] || return 0
  case ":${LD_LIBRARY_PATH:-}:" in *":$1:"*) return 0 ;; esac
  if [ "${2:-}" = append ]; then
    export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$1"
  else
    export LD_LIBRARY_PATH="$1${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
}

# Is a soname in the dynamic linker cache?  (cache read once; no pipes, so
# the answer is right under pipefail too)
_tsetup_cache_refresh() { _tsetup_cache=$(/sbin/ldconfig -p 2>/dev/null); }
_tsetup_incache() { grep -q "^[[:space:]]*$1 " <<<"$_tsetup_cache"; }
_tsetup_first() { printf '%s' "${1%%$'\n'*}"; }  # first line of $1

# Bounded filesystem search: prints matching paths (files or links).
_tsetup_find() {  # $1 = name glob, rest = dirs
  local pat="$1"; shift
  local d
  for d in "$@"; do
    [ -d "$d" ] || continue
    timeout 30 find "$d" \( -path /proc -o -path /sys -o -path /dev -o -path /run \
      -o -path "$TDEPS" -o -path /tmp \) -prune -o -name "$pat" -print 2>/dev/null
  done
}

_tsetup_main() {
  local repo; repo=$(pwd)
  TDEPS=${TDEPS:-/tmp/tdeps}
  export TDEPS
  local arch=x86_64-linux-gnu
  local f n
  _tsetup_cache_refresh

  # ---- gl: loaders into / (device README recipe) -------------------------
  if ls "$repo"/.gl/*.deb >/dev/null 2>&1; then
    local missing=""
    for n in libvulkan.so.1 libEGL.so.1 libGL.so.1 libGLESv2.so.2 libOpenGL.so.0 libGLX.so.0 libGLdispatch.so.0; do
      _tsetup_incache "$n" || missing="$missing $n"
    done
    if [ -z "$missing" ] && [ "${TESSERA_GL_FORCE:-0}" != 1 ]; then
      _tsetup_say "gl: loaders already in ldconfig cache; not unpacking .gl"
    elif [ ! -w / ]; then
      _tsetup_say "gl: WARNING missing:$missing but / is not writable (not root?)"
    else
      n=0
      for f in "$repo"/.gl/*.deb; do dpkg -x "$f" / && n=$((n+1)); done
      /sbin/ldconfig
      _tsetup_cache_refresh
      _tsetup_say "gl: unpacked $n .gl debs into / (was missing:${missing:- none}); ldconfig done"
    fi
  else
    _tsetup_say "gl: WARNING no .gl/*.deb (carry .gl); Vulkan loader may be missing"
  fi

  # ---- debs: runtime libs into $TDEPS ------------------------------------
  if ls "$repo"/.debs/*.deb >/dev/null 2>&1; then
    mkdir -p "$TDEPS"
    n=0
    local bad=""
    for f in "$repo"/.debs/*.deb; do
      if dpkg -x "$f" "$TDEPS" 2>/dev/null; then n=$((n+1)); else bad="$bad $(basename "$f")"; fi
    done
    _tsetup_say "debs: unpacked $n debs into $TDEPS${bad:+ (FAILED:$bad)}"
  else
    _tsetup_say "debs: WARNING no .debs/*.deb (carry .debs)"
  fi

  # ---- ldpath --------------------------------------------------------------
  # Order after this: .device/lib .device TDEPS/openblas-pthread TDEPS/lib ...
  _tsetup_ldpath "$TDEPS/usr/lib/$arch"
  _tsetup_ldpath "$TDEPS/lib/$arch"
  _tsetup_ldpath "$TDEPS/usr/lib/$arch/openblas-pthread"
  _tsetup_ldpath "$repo/.device"
  _tsetup_ldpath "$repo/.device/lib"
  _tsetup_say "ldpath: LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

  # ---- opencl: ICD file for NVIDIA's libnvidia-opencl ---------------------
  local ocl="${TESSERA_NVIDIA_OPENCL:-}"
  if [ -z "$ocl" ]; then
    ocl=$(_tsetup_first "$(sed -n 's/^[[:space:]]*libnvidia-opencl\.so\.1 .*=> //p' <<<"$_tsetup_cache")")
  fi
  if [ -z "$ocl" ]; then
    ocl=$(_tsetup_first "$(_tsetup_find 'libnvidia-opencl.so*' /usr/local/nvidia /usr/lib/$arch /usr/lib64 /usr/lib /lib/$arch /usr/local | sort)")
  fi
  if [ -z "$ocl" ]; then
    ocl=$(_tsetup_first "$(_tsetup_find 'libnvidia-opencl.so*' / | sort)")
  fi
  if [ -n "$ocl" ] && [ -e "$ocl" ]; then
    # Prefer the .so.1 name next to whatever was found.
    [ -e "$(dirname "$ocl")/libnvidia-opencl.so.1" ] && ocl="$(dirname "$ocl")/libnvidia-opencl.so.1"
    mkdir -p "$TDEPS/icd"
    echo "$ocl" > "$TDEPS/icd/nvidia.icd"
    export OCL_ICD_VENDORS="$TDEPS/icd"
    # Its helper libs (ptxjitcompiler, ...) live beside it.
    _tsetup_incache libnvidia-opencl.so.1 || _tsetup_ldpath "$(dirname "$ocl")" append
    local loader=missing
    [ -e "$TDEPS/usr/lib/$arch/libOpenCL.so.1" ] && loader="ocl-icd from .debs"
    _tsetup_say "opencl: ICD $TDEPS/icd/nvidia.icd -> $ocl; OCL_ICD_VENDORS=$OCL_ICD_VENDORS; loader: $loader"
  else
    _tsetup_say "opencl: WARNING no libnvidia-opencl.so* found; OCL_ICD_VENDORS left as is (${OCL_ICD_VENDORS:-unset})"
  fi

  # ---- vulkan (and EGL) driver manifests ----------------------------------
  local std="" j
  for j in /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json \
           /usr/local/share/vulkan/icd.d/nvidia_icd*.json; do
    [ -e "$j" ] && { std="$j"; break; }
  done
  if [ -n "$std" ]; then
    _tsetup_say "vulkan: NVIDIA ICD in standard place ($std); VK_DRIVER_FILES not set"
  else
    j=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    [ -e "$j" ] || j=$(_tsetup_first "$(_tsetup_find 'nvidia_icd*.json' /usr/local/nvidia /usr/share /etc /usr/local)")
    if [ -n "$j" ] && [ -e "$j" ]; then
      export VK_DRIVER_FILES="$j" VK_ICD_FILENAMES="$j"
      _tsetup_say "vulkan: VK_DRIVER_FILES=$j"
    else
      _tsetup_say "vulkan: WARNING no nvidia_icd*.json anywhere; Vulkan will see no NVIDIA driver"
    fi
  fi
  if [ -n "${VK_DRIVER_FILES:-}" ] || [ -n "$std" ]; then
    # The manifest names a library (libGLX_nvidia.so.0); make sure ld.so finds it.
    j=${VK_DRIVER_FILES:-$std}
    local lib; lib=$(_tsetup_first "$(sed -n 's/.*"library_path"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$j")")
    if [ -n "$lib" ] && [ "${lib#/}" = "$lib" ] && ! _tsetup_incache "$lib"; then
      f=$(_tsetup_first "$(_tsetup_find "$lib" /usr/local/nvidia /usr/lib /usr/lib64)")
      [ -n "$f" ] && _tsetup_ldpath "$(dirname "$f")" append
      _tsetup_say "vulkan: $lib not in ldconfig cache; ${f:+added $(dirname "$f") to LD_LIBRARY_PATH}${f:-WARNING not found}"
    fi
  fi
  if [ ! -e /usr/share/glvnd/egl_vendor.d/10_nvidia.json ] && [ ! -e /etc/glvnd/egl_vendor.d/10_nvidia.json ] \
     && [ -e /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    _tsetup_say "egl: __EGL_VENDOR_LIBRARY_FILENAMES=$__EGL_VENDOR_LIBRARY_FILENAMES"
  fi

  # ---- check: every ELF in .device resolves -------------------------------
  if [ -d "$repo/.device" ]; then
    local cnt=0 unres=""
    while IFS= read -r f; do
      head -c 4 "$f" 2>/dev/null | grep -q 'ELF' || continue
      cnt=$((cnt+1))
      n=$(ldd "$f" 2>/dev/null | awk '/not found/{print $1}' | tr '\n' ' ')
      [ -n "$n" ] && unres="$unres $(basename "$f"):[ $n]"
    done < <(find "$repo/.device" -type f 2>/dev/null)
    if [ -n "$unres" ]; then
      _tsetup_say "check: WARNING $cnt ELF files in .device, unresolved:$unres"
    else
      _tsetup_say "check: $cnt ELF files in .device, all libraries resolve"
    fi
  else
    _tsetup_say "check: no .device dir (carry .device with the staged binaries)"
  fi
  # Staged binaries and the tools from .debs (clinfo) on PATH.
  for f in "$TDEPS/usr/bin" "$repo/.device/bin" "$repo/.device"; do
    [ -d "$f" ] || continue
    case ":$PATH:" in *":$f:"*) ;; *) export PATH="$f:$PATH" ;; esac
  done
  return 0
}

# Run with errexit/nounset/pipefail off whatever the caller set, then restore.
# ($(set +o) would not do: command substitution drops errexit.)
_tsetup_flags=$-; _tsetup_pf=0; [ -o pipefail ] && _tsetup_pf=1
set +e +u +o pipefail
_tsetup_main
case $_tsetup_flags in *e*) set -e ;; esac
case $_tsetup_flags in *u*) set -u ;; esac
[ "$_tsetup_pf" = 1 ] && set -o pipefail
unset _tsetup_flags _tsetup_pf _tsetup_cache
unset -f _tsetup_main _tsetup_say _tsetup_ldpath _tsetup_incache _tsetup_find _tsetup_cache_refresh _tsetup_first
true
