namespace gridrun { int ProbeCoord() { return 1; } }
