// A read-only memory mapping of a whole file, unmapped when the object dies (RAII).
#pragma once

#include <cstddef>
#include <string>

namespace tessera {

class MappedFile {
 public:
  // Throws tessera::Error naming the path and the system's reason.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* Data() const { return data_; }
  std::size_t Size() const { return size_; }
  const std::string& Path() const { return path_; }
  // Hints that [offset, offset+length) is about to be read / is no longer needed (page cache stays).
  void WillNeed(std::size_t offset, std::size_t length) const;
  void DontNeed(std::size_t offset, std::size_t length) const;

 private:
  std::string path_;
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tessera
