// Debian's libgloo-dev (0.0~git20220518) ships gloo/transport/tcp/{pair,context,unbound_buffer}.h but
// not the gloo/common/memory.h they include, so code that derives from gloo's TCP classes (our
// authenticated transport, comm/gloo_auth_transport.cc) cannot compile against the package as is.
// This stands in for it, found only when the system has none (-idirafter): the three pointer wrappers
// with the one member each that the library was built with (a std::shared_ptr or a std::weak_ptr), so
// every gloo class has the size and layout libgloo.so expects. It declares only what the headers use.
#pragma once

#include <memory>

namespace gloo {

template <typename T>
class WeakNonOwningPtr;

template <typename T>
class ShareableNonOwningPtr final {
 public:
  explicit ShareableNonOwningPtr(T* t) : ptr_(t, [](T*) {}) {}

 private:
  std::shared_ptr<T> ptr_;
  friend class WeakNonOwningPtr<T>;
};

template <typename T>
class WeakNonOwningPtr final {
 public:
  WeakNonOwningPtr() = default;
  explicit WeakNonOwningPtr(const ShareableNonOwningPtr<T>& shared) : ptr_(shared.ptr_) {}

 private:
  std::weak_ptr<T> ptr_;
};

template <typename T>
class NonOwningPtr final {
 public:
  NonOwningPtr() = default;
  T* get() const { return ptr_.get(); }
  explicit operator bool() const { return static_cast<bool>(ptr_); }

 private:
  std::shared_ptr<T> ptr_;
};

}  // namespace gloo
