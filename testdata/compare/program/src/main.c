#include <stdio.h>

int greet(const char *name);

int main(int argc, char **argv) {
    return greet(argc > 1 ? argv[1] : "world");
}
