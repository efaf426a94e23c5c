// Validation at the C++ boundary: every entry point checks its arrays here before touching memory,
// and a failed check becomes lowbit.LowbitError in Python with the argument's name in the message.
#pragma once
#include <nanobind/ndarray.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "cpu.h"

namespace lowbit {

namespace nb = nanobind;

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void require(bool ok, const std::string& msg) {
  if (!ok) throw Error(msg);
}
// a literal message: no std::string built unless the check fails (the bindings check every row of a table
// on every call)
inline void require(bool ok, const char* msg) {
  if (!ok) throw Error(msg);
}

template <typename T>
const char* dtype_name() {
  if constexpr (std::is_same_v<T, int8_t>) return "int8";
  else if constexpr (std::is_same_v<T, uint8_t>) return "uint8";
  else if constexpr (std::is_same_v<T, int16_t>) return "int16";
  else if constexpr (std::is_same_v<T, uint16_t>) return "uint16";
  else if constexpr (std::is_same_v<T, int32_t>) return "int32";
  else if constexpr (std::is_same_v<T, int64_t>) return "int64";
  else if constexpr (std::is_same_v<T, uint64_t>) return "uint64";
  else if constexpr (std::is_same_v<T, float>) return "float32";
  else return "?";
}

// A C-contiguous CPU array of element type T with ndim in [min_ndim, max_ndim], aligned to its element.
using In = nb::ndarray<nb::ro>;  // an input array: read-only ones are fine
using Out = nb::ndarray<>;       // an output array: must be writable

template <typename T, typename Array>
T* checked(const Array& a, const char* name, size_t min_ndim, size_t max_ndim) {
  // the messages are built only when a check fails (several heap strings per array and call otherwise)
  if (a.device_type() != nb::device::cpu::value) throw Error(std::string(name) + ": expected a CPU array");
  if (a.dtype() != nb::dtype<T>()) throw Error(std::string(name) + ": expected dtype " + dtype_name<T>());
  if (a.ndim() < min_ndim || a.ndim() > max_ndim)
    throw Error(std::string(name) + ": expected " + std::to_string(min_ndim) + ".." + std::to_string(max_ndim) +
                " dimensions, got " + std::to_string(a.ndim()));
  int64_t expect_stride = 1;
  // an empty array has no memory to lay out (and its exporters give it arbitrary strides): its shape is
  // checked by the caller, which never reads it
  for (size_t i = a.size() == 0 ? 0 : a.ndim(); i-- > 0;) {
    if (a.shape(i) > 1 && a.stride(i) != expect_stride)
      throw Error(std::string(name) + ": expected a C-contiguous array (got strides that are not)");
    expect_stride *= int64_t(a.shape(i));
  }
  if (reinterpret_cast<uintptr_t>(a.data()) % alignof(T) != 0)
    throw Error(std::string(name) + ": expected data aligned to " + std::to_string(alignof(T)) + " bytes");
  return static_cast<T*>(const_cast<void*>(static_cast<const void*>(a.data())));
}

// Shapes of an elementwise op's input and output must agree exactly (not just their sizes).
inline void require_same_shape(const nb::ndarray<nb::ro>& a, const nb::ndarray<>& b, const char* b_name) {
  bool same = a.ndim() == b.ndim();
  for (size_t i = 0; same && i < a.ndim(); ++i) same = a.shape(i) == b.shape(i);
  require(same, std::string(b_name) + ": expected the shape of q");
}

// q as int16 or int32 codes (the integer ops take 16-bit activations, or 32-bit ones)
inline const void* checked_codes(const nb::ndarray<nb::ro>& q, bool& is16) {
  is16 = q.dtype() == nb::dtype<int16_t>();
  require(is16 || q.dtype() == nb::dtype<int32_t>(), "q: expected dtype int16 or int32 (integer codes)");
  const void* p = is16 ? (const void*)checked<int16_t>(q, "q", 1, 8) : (const void*)checked<int32_t>(q, "q", 1, 8);
  require(q.size() > 0, "q: expected a non-empty array");
  return p;
}

// "auto" or an ISA name
inline Isa pick_isa(const std::string& isa) { return isa == "auto" ? default_isa() : parse_isa(isa); }

}  // namespace lowbit
