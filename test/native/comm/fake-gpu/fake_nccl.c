/* A stand-in for libnccl.so.2: records what the communicator asks of it (init with which unique id,
 * abort) in the file named by FAKE_NCCL_LOG, so a test can check the unique-id exchange through the
 * TCP store and that the watchdog aborts the communicator. Collectives only "enqueue" (return 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct { char internal[128]; } ncclUniqueId;

static void note(const char* text) {
  const char* path = getenv("FAKE_NCCL_LOG");
  if (path == NULL) return;
  FILE* f = fopen(path, "a");
  if (f == NULL) return;
  fprintf(f, "%s\n", text);
  fclose(f);
}

int ncclGetVersion(int* v) { *v = 22700; return 0; }
int ncclGetUniqueId(ncclUniqueId* id) {
  for (int i = 0; i < 128; ++i) id->internal[i] = (char)((getpid() * 31 + i * 7) & 0xff);
  return 0;
}
int ncclCommInitRank(void** comm, int nranks, ncclUniqueId id, int rank) {
  char line[400];
  int n = snprintf(line, sizeof(line), "init rank=%d size=%d id=", rank, nranks);
  for (int i = 0; i < 16; ++i) n += snprintf(line + n, sizeof(line) - n, "%02x", (unsigned char)id.internal[i]);
  note(line);
  *comm = malloc(1);
  return 0;
}
int ncclCommAbort(void* comm) { note("abort"); free(comm); return 0; }
int ncclCommDestroy(void* comm) { note("destroy"); free(comm); return 0; }
int ncclCommGetAsyncError(void* comm, int* r) { *r = 0; return 0; }
const char* ncclGetErrorString(int rc) { return "fake nccl error"; }
int ncclAllReduce(const void* s, void* r, size_t n, int t, int op, void* c, void* st) { return 0; }
int ncclAllGather(const void* s, void* r, size_t n, int t, void* c, void* st) { return 0; }
int ncclBroadcast(const void* s, void* r, size_t n, int t, int root, void* c, void* st) { return 0; }
int ncclSend(const void* b, size_t n, int t, int peer, void* c, void* st) { return 0; }
int ncclRecv(void* b, size_t n, int t, int peer, void* c, void* st) { return 0; }
int ncclGroupStart(void) { return 0; }
int ncclGroupEnd(void) { return 0; }
