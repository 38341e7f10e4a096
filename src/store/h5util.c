#include "store/h5util.h"

#include <stdlib.h>
#include <string.h>

#include "snnbench/error.h"

void h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static hid_t vlen_str_type(void) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

int h5_attr_str(hid_t loc, const char *name, const char *value) {
  hid_t t = vlen_str_type(), s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
  int rc = a < 0 ? -1 : (int)H5Awrite(a, t, &value);
  if (a >= 0) H5Aclose(a);
  H5Sclose(s);
  H5Tclose(t);
  return rc;
}

static int attr_num(hid_t loc, const char *name, hid_t type, const void *v) {
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, type, s, H5P_DEFAULT, H5P_DEFAULT);
  int rc = a < 0 ? -1 : (int)H5Awrite(a, type, v);
  if (a >= 0) H5Aclose(a);
  H5Sclose(s);
  return rc;
}

int h5_attr_double(hid_t loc, const char *name, double v) {
  return attr_num(loc, name, H5T_NATIVE_DOUBLE, &v);
}

int h5_attr_long(hid_t loc, const char *name, long v) {
  return attr_num(loc, name, H5T_NATIVE_LONG, &v);
}

int h5_scalar(hid_t group, const char *name, double v) {
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t d = H5Dcreate2(group, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  int rc = d < 0 ? -1 : (int)H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v);
  if (d >= 0) H5Dclose(d);
  H5Sclose(s);
  return rc;
}

int h5_text(hid_t group, const char *name, const char *value) {
  hid_t t = vlen_str_type(), s = H5Screate(H5S_SCALAR);
  hid_t d = H5Dcreate2(group, name, t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  int rc = d < 0 ? -1 : (int)H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value);
  if (d >= 0) H5Dclose(d);
  H5Sclose(s);
  H5Tclose(t);
  return rc;
}

int h5_vec(hid_t group, const char *name, const double *v, long n) {
  hsize_t dims[1] = {(hsize_t)n};
  hid_t s = H5Screate_simple(1, dims, NULL);
  hid_t d = H5Dcreate2(group, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  int rc = d < 0 ? -1 : (int)H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
  if (d >= 0) H5Dclose(d);
  H5Sclose(s);
  return rc;
}

char *h5_read_str(hid_t loc, const char *name, int is_dataset) {
  if (is_dataset ? H5Lexists(loc, name, H5P_DEFAULT) <= 0 : H5Aexists(loc, name) <= 0) return NULL;
  hid_t obj = is_dataset ? H5Dopen2(loc, name, H5P_DEFAULT) : H5Aopen(loc, name, H5P_DEFAULT);
  if (obj < 0) return NULL;
  hid_t t = vlen_str_type();
  char *value = NULL;
  herr_t rc = is_dataset ? H5Dread(obj, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value)
                         : H5Aread(obj, t, &value);
  char *copy = rc >= 0 && value ? sb_xstrdup(value) : NULL;
  if (rc >= 0 && value) H5free_memory(value);
  H5Tclose(t);
  if (is_dataset)
    H5Dclose(obj);
  else
    H5Aclose(obj);
  return copy;
}

int h5_read_scalar(hid_t loc, const char *name, double *v) {
  hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
  if (d < 0) return -1;
  int rc = (int)H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
  H5Dclose(d);
  return rc;
}
