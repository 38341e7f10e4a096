/* Internal: the pieces of config resolution that the grid expander uses. */
#ifndef SNNBENCH_GRID_CONFIG_INTERNAL_H
#define SNNBENCH_GRID_CONFIG_INTERNAL_H

#include "snnbench/config.h"

/* Validates one cell's JSON against the schema, fills defaults into it and into cfg. where_fmt
 * describes the grid position for messages about grid-valued keys. */
sb_status sb_config_resolve_cell(const sb_experiment *e, cJSON *cell, const char *where_fmt,
                                 sb_cell_config *cfg);
int sb_config_known_path(const char *path);
cJSON *sb_json_parent(cJSON *root, const char *path, const char **leaf, int create);

#endif
