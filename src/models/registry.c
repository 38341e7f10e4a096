#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/builtin_specs.h"
#include "snnbench/config.h"
#include "snnbench/models.h"

sb_status sb_json_parse_file(const char *path, char **text, cJSON **root);

int sb_model_is_file(const char *model) {
  size_t n = strlen(model);
  return strchr(model, '/') != NULL || (n > 5 && strcmp(model + n - 5, ".json") == 0);
}

static const sb_builtin_spec *find_builtin(const char *name) {
  for (int i = 0; sb_builtin_specs[i].name; i++)
    if (strcmp(sb_builtin_specs[i].name, name) == 0) return &sb_builtin_specs[i];
  return NULL;
}

sb_status sb_model_spec_load(const char *model, const char *path, cJSON **spec) {
  *spec = NULL;
  if (sb_model_is_file(model)) {
    char *text = NULL;
    sb_status st = sb_json_parse_file(path, &text, spec);
    free(text);
    return st;
  }
  const sb_builtin_spec *b = find_builtin(model);
  if (!b)
    return sb_fail(SB_EINPUT, "model: unknown built-in model \"%s\" (snnbench list models; a spec "
                   "file needs a path ending in .json)", model);
  *spec = cJSON_Parse(b->text);
  if (!*spec) return sb_fail(SB_ERUNTIME, "built-in model %s: spec does not parse", model);
  return SB_OK;
}

sb_status sb_model_spec_text(const char *model, const char *path, char **text) {
  cJSON *spec;
  sb_status st = sb_model_spec_load(model, path, &spec);
  if (st) return st;
  *text = sb_json_canonical(spec);
  cJSON_Delete(spec);
  return SB_OK;
}

const char *const *sb_builtin_model_names(void) {
  static const char *names[256];
  int n = 0;
  for (int i = 0; sb_builtin_specs[i].name && n < 255; i++) names[n++] = sb_builtin_specs[i].name;
  names[n] = NULL;
  return names;
}

const char *sb_builtin_model_description(const char *name) {
  static char buf[4096]; /* the zoo's descriptions run to about 1,200 characters */
  const sb_builtin_spec *b = find_builtin(name);
  buf[0] = 0;
  if (!b) return buf;
  cJSON *spec = cJSON_Parse(b->text);
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(spec, "description");
  if (cJSON_IsString(d)) snprintf(buf, sizeof buf, "%s", d->valuestring);
  cJSON_Delete(spec);
  return buf;
}

sb_status sb_model_spec_declared(const cJSON *spec, const char *origin, sb_shape *input,
                                 int *classes) {
  const cJSON *in = cJSON_GetObjectItemCaseSensitive(spec, "input");
  if (in) {
    const int n = cJSON_IsArray(in) ? cJSON_GetArraySize(in) : 0;
    sb_shape s = {n, {0, 0, 0}};
    int ok = n >= 1 && n <= 3;
    for (int i = 0; ok && i < n; i++) {
      const cJSON *d = cJSON_GetArrayItem(in, i);
      ok = cJSON_IsNumber(d) && d->valuedouble >= 1 && d->valuedouble <= 1e6 &&
           d->valuedouble == (double)(int)d->valuedouble;
      if (ok) s.d[i] = (int)d->valuedouble;
    }
    if (!ok)
      return sb_fail(SB_EINPUT, "model %s: \"input\" must be a list of 1 to 3 positive whole "
                     "numbers, [C, H, W] or [features]", origin);
    if (input) *input = s;
  }
  const cJSON *k = cJSON_GetObjectItemCaseSensitive(spec, "classes");
  if (k) {
    if (!cJSON_IsNumber(k) || k->valuedouble < 2 || k->valuedouble > 1e6 ||
        k->valuedouble != (double)(int)k->valuedouble)
      return sb_fail(SB_EINPUT, "model %s: \"classes\" must be a whole number >= 2", origin);
    if (classes) *classes = (int)k->valuedouble;
  }
  return SB_OK;
}
