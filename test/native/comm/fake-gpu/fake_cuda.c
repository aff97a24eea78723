/* A stand-in for libcuda.so.1 so the NCCL communicator's host logic (dlopen, streams, events, the
 * watchdog) runs on machines without a GPU. Events complete at once, unless the file named by
 * FAKE_CUDA_HANG_FILE exists: then they never complete, as with a peer that stopped participating. With
 * FAKE_CUDA_EVENT_MS set, an event completes that many milliseconds after its record, as a transfer
 * that takes a while (so a test can tell an operation still in flight from one already done).
 * Event records and stream waits are appended to FAKE_NCCL_LOG (the fake NCCL's log, so the order of
 * CUDA and NCCL calls shows in one file) as "cuda <pid> record default" for the default (legacy) stream,
 * "cuda <pid> record comm" for the communicator's, "cuda <pid> wait comm". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define LEGACY_STREAM ((void*)0x1)

static void note(const char* text) {
  const char* path = getenv("FAKE_NCCL_LOG");
  if (path == NULL) return;
  FILE* f = fopen(path, "a");
  if (f == NULL) return;
  fprintf(f, "cuda %d %s\n", (int)getpid(), text);
  fclose(f);
}

static int hanging(void) {
  const char* f = getenv("FAKE_CUDA_HANG_FILE");
  return f != NULL && access(f, F_OK) == 0;
}

int cuInit(unsigned flags) { return 0; }
int cuDeviceGet(int* dev, int ordinal) { *dev = ordinal; return 0; }
int cuDevicePrimaryCtxRetain(void** ctx, int dev) { *ctx = (void*)0x1; return 0; }
int cuDevicePrimaryCtxRelease_v2(int dev) { return 0; }
/* FAKE_CUDA_NO_CONTEXT set: the context cannot be made current (CUDA_ERROR_INVALID_CONTEXT). */
int cuCtxSetCurrent(void* ctx) { return getenv("FAKE_CUDA_NO_CONTEXT") != NULL ? 201 : 0; }
int cuStreamCreate(void** s, unsigned flags) { *s = malloc(1); return 0; }
int cuStreamDestroy_v2(void* s) { free(s); return 0; }
static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* An event is the time of its last record. */
int cuEventCreate(void** e, unsigned flags) {
  double* recorded = malloc(sizeof(double));
  *recorded = 0;
  *e = recorded;
  return 0;
}
int cuEventRecord(void* e, void* s) {
  *(double*)e = now_ms();
  note(s == LEGACY_STREAM ? "record default" : "record comm");
  return 0;
}
int cuEventQuery(void* e) {
  const char* delay = getenv("FAKE_CUDA_EVENT_MS");
  if (hanging()) return 600;
  if (delay != NULL && now_ms() < *(double*)e + atof(delay)) return 600; /* CUDA_ERROR_NOT_READY */
  return 0;
}
int cuEventDestroy_v2(void* e) { free(e); return 0; }
int cuMemAlloc_v2(unsigned long long* p, size_t n) { *p = (unsigned long long)malloc(n); return 0; }
int cuMemFree_v2(unsigned long long p) { free((void*)p); return 0; }
int cuGetErrorString(int rc, const char** s) { *s = "fake cuda error"; return 0; }
int cuStreamWaitEvent(void* s, void* e, unsigned flags) { note(s == LEGACY_STREAM ? "wait default" : "wait comm"); return 0; }
