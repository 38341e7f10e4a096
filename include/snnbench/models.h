/* Model specs: the built-in ones (JSON files in src/models/specs, compiled in), or a user's
 * .json file. */
#ifndef SNNBENCH_MODELS_H
#define SNNBENCH_MODELS_H

#include "snnbench/error.h"
#include "snnbench/nn.h"

typedef struct cJSON cJSON;

/* True when `model` names a spec file (ends in .json or contains '/'), not a built-in. */
int sb_model_is_file(const char *model);
/* Loads the spec for `model`; path is the file path resolved against the config directory
 * (ignored for built-ins). */
sb_status sb_model_spec_load(const char *model, const char *path, cJSON **spec);
/* The canonical text of the spec, for cell ids. */
sb_status sb_model_spec_text(const char *model, const char *path, char **text);
/* The input shape and class count a spec declares ("input": [C, H, W], "classes": N), for
 * `model info`; a run takes both from its dataset instead. Leaves *input / *classes (either may
 * be NULL) unchanged when the spec does not declare them; a malformed value is an input error
 * naming `origin`. */
sb_status sb_model_spec_declared(const cJSON *spec, const char *origin, sb_shape *input,
                                 int *classes);
/* NULL-terminated names of the built-in models. */
const char *const *sb_builtin_model_names(void);
/* The description field of a built-in spec, or "". */
const char *sb_builtin_model_description(const char *name);

#endif
