/* The reference side of tests/libconfig_reference.rs: reads one file with
 * the C libconfig (include directory: the file's own directory) and prints
 * its canonical dump, the form the test prints for our reader:
 *   PATH TYPE VALUE     one line per setting, depth first; the root's PATH
 *                       is empty, a member's is PARENT/NAME, an element's
 *                       PARENT[INDEX]
 *   ERROR FILE line N   when the file is refused (FILE: base name), then a
 *                       tab and libconfig's message, which is not compared
 * Floats are printed as their IEEE-754 bits, strings byte by byte.
 * `dump --version` prints the version of the libconfig it was built with. */
#include <libconfig.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static FILE *out;

static void dump_string(const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p >= 0x20 && *p < 0x7f && *p != '\\' && *p != '"')
      fputc(*p, out);
    else
      fprintf(out, "\\x%02x", *p);
  }
  fputc('"', out);
}

/* One path buffer for the whole walk: nesting runs thousands deep. */
static char path[1 << 20];

static void dump(config_setting_t *s, size_t len) {
  int type = config_setting_type(s);
  fprintf(out, "%.*s ", (int)len, path);
  switch (type) {
  case CONFIG_TYPE_INT:
    fprintf(out, "int %d\n", config_setting_get_int(s));
    break;
  case CONFIG_TYPE_INT64:
    fprintf(out, "int64 %lld\n", config_setting_get_int64(s));
    break;
  case CONFIG_TYPE_FLOAT: {
    double d = config_setting_get_float(s);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    fprintf(out, "float %016llx\n", (unsigned long long)bits);
    break;
  }
  case CONFIG_TYPE_BOOL:
    fprintf(out, "bool %s\n", config_setting_get_bool(s) ? "true" : "false");
    break;
  case CONFIG_TYPE_STRING:
    fprintf(out, "string ");
    dump_string(config_setting_get_string(s));
    fputc('\n', out);
    break;
  case CONFIG_TYPE_GROUP:
  case CONFIG_TYPE_ARRAY:
  case CONFIG_TYPE_LIST: {
    int n = config_setting_length(s);
    fprintf(out, "%s %d\n",
            type == CONFIG_TYPE_GROUP ? "group"
            : type == CONFIG_TYPE_ARRAY ? "array" : "list", n);
    for (int i = 0; i < n; i++) {
      config_setting_t *c = config_setting_get_elem(s, i);
      int added;
      if (type == CONFIG_TYPE_GROUP)
        added = snprintf(path + len, sizeof path - len, "/%s", config_setting_name(c));
      else
        added = snprintf(path + len, sizeof path - len, "[%d]", i);
      if (added < 0 || (size_t)added >= sizeof path - len) {
        fprintf(stderr, "path too long\n");
        _exit(2);
      }
      dump(c, len + (size_t)added);
    }
    break;
  }
  default:
    fprintf(out, "none\n");
  }
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    printf("%d.%d.%d\n", LIBCONFIG_VER_MAJOR, LIBCONFIG_VER_MINOR,
           LIBCONFIG_VER_REVISION);
    return 0;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: %s FILE | --version\n", argv[0]);
    return 2;
  }
  /* flex echoes what no rule matches to stdout: keep the dump apart. */
  out = fdopen(dup(1), "w");
  if (!out || !freopen("/dev/null", "w", stdout))
    return 2;
  config_t config;
  config_init(&config);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", argv[1]);
  config_set_include_dir(&config, dirname(dir));
  if (!config_read_file(&config, argv[1])) {
    if (config_error_type(&config) == CONFIG_ERR_FILE_IO) {
      fprintf(stderr, "cannot read %s\n", argv[1]);
      return 2;
    }
    char file[4096];
    snprintf(file, sizeof file, "%s",
             config_error_file(&config) ? config_error_file(&config) : argv[1]);
    fprintf(out, "ERROR %s line %d\t%s\n", basename(file),
            config_error_line(&config), config_error_text(&config));
  } else {
    dump(config_root_setting(&config), 0);
  }
  config_destroy(&config);
  return fclose(out) == 0 ? 0 : 2;
}
