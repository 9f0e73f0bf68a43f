// The tuner's GPU worker process (src/tune/worker.hpp): started by `kerntune tune`, never by
// hand. It serves requests on the descriptor given with --fd.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tune/worker.hpp"

int main(int argc, char** argv) {
    if (argc != 3 || std::strcmp(argv[1], "--fd") != 0) {
        std::fprintf(stderr, "kerntune-worker: started by kerntune tune, not by hand (usage: kerntune-worker --fd N)\n");
        return 2;
    }
    return kerntune::run_worker(std::atoi(argv[2]));
}
