// OpenCL error codes -> tessera::Error / tessera::OutOfMemory.
#pragma once
#include <CL/cl.h>

#include <string>

#include "core/error.hpp"

namespace tessera::opencl {

// "CL_OUT_OF_RESOURCES (-5)".
std::string cl_error_name(cl_int err);
bool is_out_of_memory(cl_int err);

// Throws OutOfMemory for CL_MEM_OBJECT_ALLOCATION_FAILURE / CL_OUT_OF_RESOURCES /
// CL_OUT_OF_HOST_MEMORY, else Error; `what` names the call and its context.
[[noreturn]] void throw_cl_error(cl_int err, const std::string& what);

inline void cl_check(cl_int err, const char* what) {
  if (err != CL_SUCCESS) throw_cl_error(err, what);
}
inline void cl_check(cl_int err, const std::string& what) {
  if (err != CL_SUCCESS) throw_cl_error(err, what);
}

}  // namespace tessera::opencl
