/* Internal: the table embed_specs.cmake generates from the JSON files in src/models/specs. */
#ifndef SNNBENCH_MODELS_BUILTIN_SPECS_H
#define SNNBENCH_MODELS_BUILTIN_SPECS_H

typedef struct {
  const char *name;
  const char *text;
} sb_builtin_spec;

extern const sb_builtin_spec sb_builtin_specs[];

#endif
