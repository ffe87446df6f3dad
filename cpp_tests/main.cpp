// main() of the C++ test and benchmark program when CMake builds it (cargo builds a Rust
// main that calls the same function).
extern "C" int qlocal_cpp_main(int argc, char **argv);

int main(int argc, char **argv) { return qlocal_cpp_main(argc, argv); }
