/*
 * replay: runs fuzz-trace's LLVMFuzzerTestOneInput once on each file named
 * (a directory: on each file in it), without libFuzzer, so that `make check`
 * replays the corpus under ASan and UBSan with any compiler.  A crash, a
 * sanitizer report or an abort fails it; otherwise it prints how many inputs
 * it ran and exits 0.
 *
 * usage: fuzz-replay FILE|DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;
	FILE *f = fopen(path, "rb");

	if (!f) {
		perror(path);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (!buf) {
				fprintf(stderr, "replay: out of memory\n");
				exit(1);
			}
		}
		n = fread(buf + len, 1, cap - len, f);
		if (!n)
			break;
		len += n;
	}
	if (ferror(f)) {
		perror(path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int ran = 0, failed = 0;

	for (int i = 1; i < argc; i++) {
		struct dirent **ents;
		struct stat sb;
		int n;

		if (stat(argv[i], &sb) || !S_ISDIR(sb.st_mode)) {
			run_file(argv[i]) ? failed++ : ran++;
			continue;
		}
		n = scandir(argv[i], &ents, NULL, alphasort);
		if (n < 0) {
			perror(argv[i]);
			failed++;
			continue;
		}
		for (int j = 0; j < n; j++) {
			char path[4096];

			if (ents[j]->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", argv[i], ents[j]->d_name);
				run_file(path) ? failed++ : ran++;
			}
			free(ents[j]);
		}
		free(ents);
	}
	printf("replay: %d inputs run, %d unreadable\n", ran, failed);
	return failed || !ran;
}
