/* Internal: small HDF5 helpers. All return negative on failure (HDF5 convention). */
#ifndef SNNBENCH_STORE_H5UTIL_H
#define SNNBENCH_STORE_H5UTIL_H

#include <hdf5.h>

/* Silences HDF5's automatic error stack printing: we report our own one-line errors. */
void h5_quiet(void);
int h5_attr_str(hid_t loc, const char *name, const char *value);
int h5_attr_double(hid_t loc, const char *name, double v);
int h5_attr_long(hid_t loc, const char *name, long v);
/* Scalar double dataset (metrics). */
int h5_scalar(hid_t group, const char *name, double v);
/* Scalar string dataset, for texts too large for an attribute. */
int h5_text(hid_t group, const char *name, const char *value);
int h5_vec(hid_t group, const char *name, const double *v, long n);
/* Reads a string attribute (or scalar string dataset with is_dataset); malloc'd, NULL if absent. */
char *h5_read_str(hid_t loc, const char *name, int is_dataset);
int h5_read_scalar(hid_t loc, const char *name, double *v);

#endif
