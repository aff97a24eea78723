#include "safetensors/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/errors.h"

namespace tessera {
namespace {

// Closes the descriptor on every path out of the constructor; the mapping outlives it.
struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

std::size_t PageFloor(std::size_t offset) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return offset / page * page;
}

}  // namespace

MappedFile::MappedFile(const std::string& path) : path_(path) {
  Descriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) Fail("cannot open: " + std::string(std::strerror(errno)));
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) Fail("cannot stat: " + std::string(std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) Fail("not a regular file");
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ == 0) return;  // nothing to map; the header check reports the short file
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, file.fd, 0);
  if (p == MAP_FAILED) Fail("cannot map: " + std::string(std::strerror(errno)));
  data_ = static_cast<const unsigned char*>(p);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), size_);
}

void MappedFile::WillNeed(std::size_t offset, std::size_t length) const {
  if (data_ == nullptr || length == 0) return;
  const std::size_t start = PageFloor(offset);
  ::madvise(const_cast<unsigned char*>(data_) + start, offset + length - start, MADV_WILLNEED);
}

void MappedFile::DontNeed(std::size_t offset, std::size_t length) const {
  if (data_ == nullptr || length == 0) return;
  const std::size_t start = PageFloor(offset);
  ::madvise(const_cast<unsigned char*>(data_) + start, offset + length - start, MADV_DONTNEED);
}

}  // namespace tessera
