/*
 * superstep's binding to the machine's MPI library: a small Node-API addon, built from source
 * with the machine's mpicc (comm/backends/mpi/build.ts). Every call returns at once: sends and
 * receives are MPI_Isend/MPI_Imrecv on a private duplicate of MPI_COMM_WORLD, completed by
 * test() from the JavaScript poll loop, so the event loop never blocks in MPI. The caller keeps
 * every buffer referenced until its request completes (ArrayBuffer memory does not move).
 *
 * A message is a list of byte parts sent as one MPI message (an hindexed datatype over the
 * parts' absolute addresses, from MPI_BOTTOM): no concatenation.
 */
#include <mpi.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                   \
  do {                                                                                \
    if ((call) != napi_ok) { napi_throw_error(env, NULL, "superstep mpi: napi call failed: " #call); return NULL; } \
  } while (0)

static MPI_Comm comm = MPI_COMM_NULL;
static MPI_Request *reqs = NULL;
static int nreqs = 0;
static int *free_slots = NULL;
static int nfree = 0;
static MPI_Message *msgs = NULL;
static int nmsgs = 0;

static int throw_mpi(napi_env env, const char *what, int code) {
  char err[MPI_MAX_ERROR_STRING];
  int len = 0;
  char msg[MPI_MAX_ERROR_STRING + 128];
  MPI_Error_string(code, err, &len);
  snprintf(msg, sizeof msg, "superstep mpi: %s failed: %s", what, err);
  napi_throw_error(env, "ERR_MPI", msg);
  return 0;
}

/* A free request slot (the pool grows by doubling). */
static int slot(void) {
  if (nfree == 0) {
    int n = nreqs ? nreqs * 2 : 64;
    reqs = realloc(reqs, sizeof(MPI_Request) * n);
    free_slots = realloc(free_slots, sizeof(int) * n);
    for (int i = n - 1; i >= nreqs; i--) { reqs[i] = MPI_REQUEST_NULL; free_slots[nfree++] = i; }
    nreqs = n;
  }
  return free_slots[--nfree];
}

static napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static int arg_int(napi_env env, napi_value v) {
  int32_t x = 0;
  napi_get_value_int32(env, v, &x);
  return x;
}

/* init() -> [rank, size, version string]. */
static napi_value Init(napi_env env, napi_callback_info info) {
  int inited = 0, provided = 0, rank = 0, size = 0, rc;
  MPI_Initialized(&inited);
  if (!inited) {
    rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SINGLE, &provided);
    if (rc != MPI_SUCCESS) { throw_mpi(env, "MPI_Init_thread", rc); return NULL; }
  }
  if (comm == MPI_COMM_NULL) {
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    /* Errors come back as codes (thrown to JavaScript), not as a silent abort. */
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  }
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int vlen = 0;
  MPI_Get_library_version(version, &vlen);
  napi_value out, s;
  CHECK(napi_create_array_with_length(env, 3, &out));
  napi_set_element(env, out, 0, num(env, rank));
  napi_set_element(env, out, 1, num(env, size));
  CHECK(napi_create_string_utf8(env, version, strnlen(version, vlen), &s));
  napi_set_element(env, out, 2, s);
  return out;
}

/* isend(dest, tag, parts: Uint8Array[]) -> request id. */
static napi_value Isend(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int dest = arg_int(env, argv[0]);
  int tag = arg_int(env, argv[1]);
  uint32_t n = 0;
  CHECK(napi_get_array_length(env, argv[2], &n));
  int id = slot();
  int rc;
  if (n == 1) {
    napi_value part;
    void *data;
    size_t len;
    CHECK(napi_get_element(env, argv[2], 0, &part));
    CHECK(napi_get_typedarray_info(env, part, NULL, &len, &data, NULL, NULL));
    rc = MPI_Isend(len ? data : NULL, (int)len, MPI_BYTE, dest, tag, comm, &reqs[id]);
  } else {
    int *lens = malloc(sizeof(int) * (n ? n : 1));
    MPI_Aint *addrs = malloc(sizeof(MPI_Aint) * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
      napi_value part;
      void *data;
      size_t len;
      CHECK(napi_get_element(env, argv[2], i, &part));
      CHECK(napi_get_typedarray_info(env, part, NULL, &len, &data, NULL, NULL));
      lens[i] = (int)len;
      MPI_Get_address(data, &addrs[i]);
    }
    MPI_Datatype t;
    MPI_Type_create_hindexed((int)n, lens, addrs, MPI_BYTE, &t);
    MPI_Type_commit(&t);
    rc = MPI_Isend(MPI_BOTTOM, 1, t, dest, tag, comm, &reqs[id]);
    /* MPI keeps the type alive until the send completes. */
    MPI_Type_free(&t);
    free(lens);
    free(addrs);
  }
  if (rc != MPI_SUCCESS) { free_slots[nfree++] = id; throw_mpi(env, "MPI_Isend", rc); return NULL; }
  return num(env, id);
}

/* improbe() -> [source, tag, bytes, message id] of an arrived message, or undefined. */
static napi_value Improbe(napi_env env, napi_callback_info info) {
  int flag = 0, count = 0;
  MPI_Message m;
  MPI_Status st;
  int rc = MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &flag, &m, &st);
  if (rc != MPI_SUCCESS) { throw_mpi(env, "MPI_Improbe", rc); return NULL; }
  if (!flag) return NULL;
  MPI_Get_count(&st, MPI_BYTE, &count);
  int id = -1;
  for (int i = 0; i < nmsgs; i++) if (msgs[i] == MPI_MESSAGE_NULL) { id = i; break; }
  if (id < 0) {
    int n = nmsgs ? nmsgs * 2 : 16;
    msgs = realloc(msgs, sizeof(MPI_Message) * n);
    for (int i = nmsgs; i < n; i++) msgs[i] = MPI_MESSAGE_NULL;
    id = nmsgs;
    nmsgs = n;
  }
  msgs[id] = m;
  napi_value out;
  CHECK(napi_create_array_with_length(env, 4, &out));
  napi_set_element(env, out, 0, num(env, st.MPI_SOURCE));
  napi_set_element(env, out, 1, num(env, st.MPI_TAG));
  napi_set_element(env, out, 2, num(env, count));
  napi_set_element(env, out, 3, num(env, id));
  return out;
}

/* imrecv(message id, into: Uint8Array) -> request id. */
static napi_value Imrecv(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int mid = arg_int(env, argv[0]);
  void *data;
  size_t len;
  CHECK(napi_get_typedarray_info(env, argv[1], NULL, &len, &data, NULL, NULL));
  int id = slot();
  int rc = MPI_Imrecv(len ? data : NULL, (int)len, MPI_BYTE, &msgs[mid], &reqs[id]);
  msgs[mid] = MPI_MESSAGE_NULL;
  if (rc != MPI_SUCCESS) { free_slots[nfree++] = id; throw_mpi(env, "MPI_Imrecv", rc); return NULL; }
  return num(env, id);
}

/* ibarrier() -> request id. */
static napi_value Ibarrier(napi_env env, napi_callback_info info) {
  int id = slot();
  int rc = MPI_Ibarrier(comm, &reqs[id]);
  if (rc != MPI_SUCCESS) { free_slots[nfree++] = id; throw_mpi(env, "MPI_Ibarrier", rc); return NULL; }
  return num(env, id);
}

/* test(ids: Int32Array, n) -> how many of ids[0..n) completed; they are moved to the front. */
static napi_value Test(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t *ids;
  size_t len;
  CHECK(napi_get_typedarray_info(env, argv[0], NULL, &len, (void **)&ids, NULL, NULL));
  int n = arg_int(env, argv[1]);
  int done = 0;
  for (int i = 0; i < n; i++) {
    int flag = 0;
    int rc = MPI_Test(&reqs[ids[i]], &flag, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) { throw_mpi(env, "MPI_Test", rc); return NULL; }
    if (flag) {
      free_slots[nfree++] = ids[i];
      int t = ids[done];
      ids[done++] = ids[i];
      ids[i] = t;
    }
  }
  return num(env, done);
}

/* abort(code): ends every process of the job (MPI_Abort on MPI_COMM_WORLD). */
static napi_value Abort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  MPI_Abort(MPI_COMM_WORLD, argc ? arg_int(env, argv[0]) : 1);
  return NULL;
}

/* finalize(): MPI_Finalize once every request completed. */
static napi_value Finalize(napi_env env, napi_callback_info info) {
  int inited = 0, finalized = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  if (inited && !finalized) {
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
    MPI_Finalize();
  }
  return NULL;
}

static napi_value Setup(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"init", NULL, Init, NULL, NULL, NULL, napi_default, NULL},
    {"isend", NULL, Isend, NULL, NULL, NULL, napi_default, NULL},
    {"improbe", NULL, Improbe, NULL, NULL, NULL, napi_default, NULL},
    {"imrecv", NULL, Imrecv, NULL, NULL, NULL, napi_default, NULL},
    {"ibarrier", NULL, Ibarrier, NULL, NULL, NULL, napi_default, NULL},
    {"test", NULL, Test, NULL, NULL, NULL, napi_default, NULL},
    {"abort", NULL, Abort, NULL, NULL, NULL, napi_default, NULL},
    {"finalize", NULL, Finalize, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Setup)
