namespace gridrun { int ProbeWorker() { return 1; } }
