namespace gridrun { int ProbeCli() { return 1; } }
