/* Loading an experiment file and expanding its grid into cells. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grid/config_internal.h"
#include "snnbench/models.h"

static sb_status read_text(const char *path, char **out) {
  FILE *f = fopen(path, "rb");
  if (!f) return sb_fail(SB_EINPUT, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 4096, n = 0;
  char *buf = sb_xmalloc(cap);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (n + 1 == cap) buf = sb_xrealloc(buf, cap *= 2);
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    return sb_fail(SB_EINPUT, "%s: read error", path);
  }
  buf[n] = 0;
  *out = buf;
  return SB_OK;
}

/* JSON allows a key twice in one object and cJSON keeps both, with lookups finding the first:
 * `{"train": {...}, "train": {...}}` would validate one block and ignore the other. Any repeated
 * key, at any depth, is an error naming its JSON path (`train.epochs`, `layers[2].out`). */
static int find_duplicate_key(const cJSON *j, char *path, size_t used, size_t cap) {
  int index = 0;
  for (const cJSON *c = j->child; c; c = c->next, index++) {
    int n;
    if (cJSON_IsObject(j)) {
      n = snprintf(path + used, cap - used, "%s%s", used ? "." : "", c->string);
      for (const cJSON *d = j->child; d != c; d = d->next)
        if (!strcmp(d->string, c->string)) return 1;
    } else {
      n = snprintf(path + used, cap - used, "[%d]", index);
    }
    const size_t next = n < 0 || used + (size_t)n >= cap ? cap - 1 : used + (size_t)n;
    if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && find_duplicate_key(c, path, next, cap))
      return 1;
    path[used] = 0;
  }
  return 0;
}

sb_status sb_json_parse_file(const char *path, char **text, cJSON **root) {
  sb_status st = read_text(path, text);
  if (st) return st;
  const char *end = NULL;
  *root = cJSON_ParseWithOpts(*text, &end, 1);
  if (!*root) {
    int line = 1, col = 1;
    const char *p = *text;
    const char *stop = end ? end : cJSON_GetErrorPtr();
    for (; stop && p < stop && *p; p++) {
      if (*p == '\n') line++, col = 1;
      else col++;
    }
    free(*text);
    *text = NULL;
    return sb_fail(SB_EINPUT, "%s: invalid JSON at line %d, column %d", path, line, col);
  }
  char where[512] = "";
  if (find_duplicate_key(*root, where, 0, sizeof where)) {
    cJSON_Delete(*root);
    *root = NULL;
    free(*text);
    *text = NULL;
    return sb_fail(SB_EINPUT, "%s: %s: the key appears twice in one object; keep one", path,
                   where);
  }
  return SB_OK;
}

void sb_experiment_path(const sb_experiment *e, const char *p, char *out, size_t n) {
  if (p[0] == '/' || !e->dir[0])
    snprintf(out, n, "%s", p);
  else if (snprintf(out, n, "%s/%s", e->dir, p) >= (int)n)
    out[0] = 0;  /* a path this long is not a usable file name; opening "" fails clearly */
}

static void describe_axes(const sb_experiment *e, const cJSON *axes, char *buf, size_t n) {
  size_t used = snprintf(buf, n, "grid cell");
  for (int a = 0; a < e->n_axes && used < n; a++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(axes, e->axes[a]);
    char *s = cJSON_PrintUnformatted(v);
    used += (size_t)snprintf(buf + used, n - used, "%s %s=%s", a ? "," : "", e->axes[a], s);
    free(s);
  }
}

static sb_status expand(sb_experiment *e, const cJSON *base, const cJSON *grid) {
  long total = 1;
  int sizes[64];
  const cJSON *lists[64];
  for (int a = 0; a < e->n_axes; a++) {
    lists[a] = cJSON_GetObjectItemCaseSensitive(grid, e->axes[a]);
    sizes[a] = cJSON_GetArraySize(lists[a]);
    total *= sizes[a];
    if (total > 1000000)
      return sb_fail(SB_EINPUT, "%s: grid: more than a million cells", e->path);
  }
  e->cells = sb_xcalloc((unsigned long)total, sizeof(sb_cell));
  for (long i = 0; i < total; i++) {
    sb_cell *c = &e->cells[i];
    c->index = (int)i;
    e->n_cells = (int)i + 1;
    cJSON *cell = cJSON_Duplicate(base, 1);
    c->axes = cJSON_CreateObject();
    /* Mixed radix with the last axis fastest, so cells list in the grid's natural order. */
    long rest = i;
    int pos[64];
    for (int a = e->n_axes - 1; a >= 0; a--) {
      pos[a] = (int)(rest % sizes[a]);
      rest /= sizes[a];
    }
    for (int a = 0; a < e->n_axes; a++) {
      const cJSON *v = cJSON_GetArrayItem(lists[a], pos[a]);
      const char *leaf;
      cJSON *parent = sb_json_parent(cell, e->axes[a], &leaf, 1);
      if (!parent) {
        cJSON_Delete(cell);
        return sb_fail(SB_EINPUT, "%s: grid.\"%s\": the path crosses a value that is not an object",
                       e->path, e->axes[a]);
      }
      cJSON_AddItemToObject(parent, leaf, cJSON_Duplicate(v, 1));
      cJSON_AddItemToObject(c->axes, e->axes[a], cJSON_Duplicate(v, 1));
    }
    char where[512];
    describe_axes(e, c->axes, where, sizeof where);
    sb_status st = sb_config_resolve_cell(e, cell, where, &c->cfg);
    if (st) {
      cJSON_Delete(cell);
      return st;
    }
    /* The model's spec is part of the cell's identity: editing a spec file changes the id. */
    char *spec_text = NULL;
    char model_path[1024];
    sb_experiment_path(e, c->cfg.model, model_path, sizeof model_path);
    if ((st = sb_model_spec_text(c->cfg.model, model_path, &spec_text))) {
      if (!sb_model_is_file(c->cfg.model)) sb_error_prefix("%s: ", e->path);
      cJSON_Delete(cell);
      return st;
    }
    c->resolved = cell;
    c->resolved_text = sb_json_canonical(cell);
    uint64_t h = sb_hash64(c->resolved_text, strlen(c->resolved_text), 0);
    h = sb_hash64(spec_text, strlen(spec_text), h);
    snprintf(c->id, sizeof c->id, "%016llx", (unsigned long long)h);
    free(spec_text);
    for (long j = 0; j < i; j++)
      if (!strcmp(e->cells[j].id, c->id))
        return sb_fail(SB_EINPUT, "%s: grid cells %ld and %ld resolve to the same config (id %s); "
                       "remove the duplicate grid value", e->path, j, i, c->id);
  }
  return SB_OK;
}

/* Letters, digits, '.', '_', '-'; not empty, not starting with '.', shorter than cap. */
static int plain_file_name(const char *s, size_t cap) {
  const size_t n = strlen(s);
  if (n == 0 || n >= cap || s[0] == '.') return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
          *p == '.' || *p == '_' || *p == '-'))
      return 0;
  return 1;
}

sb_status sb_experiment_load(const char *path, sb_experiment *e) {
  memset(e, 0, sizeof *e);
  snprintf(e->path, sizeof e->path, "%s", path);
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s", path);
  snprintf(e->dir, sizeof e->dir, "%s", dirname(tmp));
  sb_status st = sb_json_parse_file(path, &e->text, &e->root);
  if (st) return st;
  if (!cJSON_IsObject(e->root))
    return sb_fail(SB_EINPUT, "%s: the config must be a JSON object", path);

  /* The name is the default run directory (runs/<name>), so it must be one plain file name:
   * "..", "a/b" or ".hidden" would put the run somewhere else than runs/. */
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(e->root, "name");
  if (name && !cJSON_IsString(name))
    return sb_fail(SB_EINPUT, "%s: name: must be a string", path);
  if (name && !plain_file_name(name->valuestring, sizeof e->name))
    return sb_fail(SB_EINPUT, "%s: name: \"%s\" is not a plain file name (1 to %zu of A-Z a-z 0-9 "
                   ". _ -, not starting with '.')", path, name->valuestring, sizeof e->name - 1);
  if (name) {
    snprintf(e->name, sizeof e->name, "%s", name->valuestring);
  } else {
    snprintf(tmp, sizeof tmp, "%s", path);
    char *b = basename(tmp);
    char *dot = strrchr(b, '.');
    if (dot) *dot = 0;
    snprintf(e->name, sizeof e->name, "%s", b);
    /* "..json" would name the run "." and ".x.json" a hidden directory. */
    if (!e->name[0] || e->name[0] == '.')
      return sb_fail(SB_EINPUT, "%s: no \"name\", and the file name gives \"%s\", which is not "
                     "a usable run name; set \"name\"", path, e->name);
  }
  const cJSON *desc = cJSON_GetObjectItemCaseSensitive(e->root, "description");
  if (desc && !cJSON_IsString(desc))
    return sb_fail(SB_EINPUT, "%s: description: must be a string", path);

  const cJSON *grid = cJSON_GetObjectItemCaseSensitive(e->root, "grid");
  if (grid && !cJSON_IsObject(grid))
    return sb_fail(SB_EINPUT, "%s: grid: must be an object mapping config paths to lists", path);
  cJSON *base = cJSON_Duplicate(e->root, 1);
  cJSON_DeleteItemFromObjectCaseSensitive(base, "name");
  cJSON_DeleteItemFromObjectCaseSensitive(base, "description");
  cJSON_DeleteItemFromObjectCaseSensitive(base, "grid");

  int n_axes = grid ? cJSON_GetArraySize(grid) : 0;
  if (n_axes > 64) {
    cJSON_Delete(base);
    return sb_fail(SB_EINPUT, "%s: grid: more than 64 axes", path);
  }
  e->axes = sb_xcalloc((unsigned long)(n_axes ? n_axes : 1), sizeof(char *));
  for (const cJSON *ax = grid ? grid->child : NULL; ax; ax = ax->next) {
    st = SB_OK;
    const char *leaf;
    cJSON *parent;
    if (!sb_config_known_path(ax->string))
      st = sb_fail(SB_EINPUT, "%s: grid.\"%s\": unknown config key (snnbench validate --schema "
                   "lists them)", path, ax->string);
    else if (!cJSON_IsArray(ax) || cJSON_GetArraySize(ax) == 0)
      st = sb_fail(SB_EINPUT, "%s: grid.\"%s\": must be a non-empty list of values", path,
                   ax->string);
    else if ((parent = sb_json_parent(base, ax->string, &leaf, 0)) &&
             cJSON_GetObjectItemCaseSensitive(parent, leaf))
      st = sb_fail(SB_EINPUT, "%s: grid.\"%s\": also set outside the grid; keep one", path,
                   ax->string);
    for (int a = 0; !st && a < e->n_axes; a++)
      if (!strcmp(e->axes[a], ax->string))
        st = sb_fail(SB_EINPUT, "%s: grid.\"%s\": listed twice", path, ax->string);
    if (st) {
      cJSON_Delete(base);
      return st;
    }
    e->axes[e->n_axes++] = sb_xstrdup(ax->string);
  }
  st = expand(e, base, grid);
  cJSON_Delete(base);
  return st;
}

void sb_experiment_free(sb_experiment *e) {
  for (int i = 0; i < e->n_cells; i++) {
    cJSON_Delete(e->cells[i].resolved);
    cJSON_Delete(e->cells[i].axes);
    free(e->cells[i].resolved_text);
  }
  free(e->cells);
  for (int a = 0; a < e->n_axes; a++) free(e->axes[a]);
  free(e->axes);
  cJSON_Delete(e->root);
  free(e->text);
  memset(e, 0, sizeof *e);
}
