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
/* MPI's own collectives run on a communicator of their own, so that their order never mixes
 * with the transport's MPI_Ibarrier (collectives on one communicator must be issued in the same
 * order on every rank). */
static MPI_Comm ccomm = MPI_COMM_NULL;
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
    MPI_Comm_dup(MPI_COMM_WORLD, &ccomm);
    MPI_Comm_set_errhandler(ccomm, MPI_ERRORS_RETURN);
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

/* Element types and reduction ops of the native collectives, by the codes collectives.ts uses. */
static MPI_Datatype dtype_of(int code) {
  static MPI_Datatype t[10];
  t[0] = MPI_INT8_T; t[1] = MPI_UINT8_T; t[2] = MPI_INT16_T; t[3] = MPI_UINT16_T; t[4] = MPI_INT32_T;
  t[5] = MPI_UINT32_T; t[6] = MPI_INT64_T; t[7] = MPI_UINT64_T; t[8] = MPI_FLOAT; t[9] = MPI_DOUBLE;
  return code >= 0 && code < 10 ? t[code] : MPI_DATATYPE_NULL;
}

static MPI_Op op_of(int code) {
  MPI_Op o[7] = {MPI_SUM, MPI_PROD, MPI_MIN, MPI_MAX, MPI_BAND, MPI_BOR, MPI_BXOR};
  return code >= 0 && code < 7 ? o[code] : MPI_OP_NULL;
}

static void *bytes_of(napi_env env, napi_value v, size_t *len) {
  void *data = NULL;
  napi_typedarray_type type;
  size_t n = 0;
  if (napi_get_typedarray_info(env, v, &type, &n, &data, NULL, NULL) != napi_ok) return NULL;
  /* n counts elements; callers pass Uint8Array views, whose elements are bytes. */
  *len = n;
  return data;
}

/* A started native collective: its request id, or the thrown error. */
static napi_value started(napi_env env, int id, int rc, const char *what) {
  if (rc != MPI_SUCCESS) { free_slots[nfree++] = id; throw_mpi(env, what, rc); return NULL; }
  return num(env, id);
}

/* iallreduce(send: Uint8Array, recv: Uint8Array, count, dtype code, op code) -> request id. */
static napi_value Iallreduce(napi_env env, napi_callback_info info) {
  size_t argc = 5, ls, lr;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *s = bytes_of(env, argv[0], &ls), *r = bytes_of(env, argv[1], &lr);
  int id = slot();
  return started(env, id, MPI_Iallreduce(s, r, arg_int(env, argv[2]), dtype_of(arg_int(env, argv[3])), op_of(arg_int(env, argv[4])), ccomm, &reqs[id]), "MPI_Iallreduce");
}

/* ireduceScatter(send, recv, counts: Int32Array, dtype code, op code) -> request id. */
static napi_value IreduceScatter(napi_env env, napi_callback_info info) {
  size_t argc = 5, ls, lr;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *s = bytes_of(env, argv[0], &ls), *r = bytes_of(env, argv[1], &lr);
  int *counts;
  size_t nc;
  CHECK(napi_get_typedarray_info(env, argv[2], NULL, &nc, (void **)&counts, NULL, NULL));
  int id = slot();
  return started(env, id, MPI_Ireduce_scatter(s, r, counts, dtype_of(arg_int(env, argv[3])), op_of(arg_int(env, argv[4])), ccomm, &reqs[id]), "MPI_Ireduce_scatter");
}

/* iallgatherv(send: Uint8Array, recv: Uint8Array, byte counts: Int32Array, byte displs: Int32Array) -> request id. */
static napi_value Iallgatherv(napi_env env, napi_callback_info info) {
  size_t argc = 4, ls, lr, nc;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *s = bytes_of(env, argv[0], &ls), *r = bytes_of(env, argv[1], &lr);
  int *counts, *displs;
  CHECK(napi_get_typedarray_info(env, argv[2], NULL, &nc, (void **)&counts, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[3], NULL, &nc, (void **)&displs, NULL, NULL));
  int id = slot();
  return started(env, id, MPI_Iallgatherv(s, (int)ls, MPI_BYTE, r, counts, displs, MPI_BYTE, ccomm, &reqs[id]), "MPI_Iallgatherv");
}

/* ialltoall(send: Uint8Array, recv: Uint8Array, bytes per rank) -> request id. */
static napi_value Ialltoall(napi_env env, napi_callback_info info) {
  size_t argc = 3, ls, lr;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *s = bytes_of(env, argv[0], &ls), *r = bytes_of(env, argv[1], &lr);
  int n = arg_int(env, argv[2]);
  int id = slot();
  return started(env, id, MPI_Ialltoall(s, n, MPI_BYTE, r, n, MPI_BYTE, ccomm, &reqs[id]), "MPI_Ialltoall");
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
    if (ccomm != MPI_COMM_NULL) MPI_Comm_free(&ccomm);
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
    {"iallreduce", NULL, Iallreduce, NULL, NULL, NULL, napi_default, NULL},
    {"ireduceScatter", NULL, IreduceScatter, NULL, NULL, NULL, napi_default, NULL},
    {"iallgatherv", NULL, Iallgatherv, NULL, NULL, NULL, napi_default, NULL},
    {"ialltoall", NULL, Ialltoall, NULL, NULL, NULL, napi_default, NULL},
    {"test", NULL, Test, NULL, NULL, NULL, napi_default, NULL},
    {"abort", NULL, Abort, NULL, NULL, NULL, napi_default, NULL},
    {"finalize", NULL, Finalize, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Setup)
