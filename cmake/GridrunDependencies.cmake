# Finds every third-party dependency (all from Debian 12 packages; see
# scripts/setup.sh) and defines the GRIDRUN_HAVE_CUDA switch.

find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(SQLiteCpp CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(PNG REQUIRED)
find_package(ZLIB REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(CURL REQUIRED)
# cpp-httplib (Debian's libcpp-httplib-dev) for `gridrun ui`: a compiled
# library whose header must see the same switches, hence pkg-config.
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
if(GRIDRUN_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()

find_program(GRIDRUN_PROTOC protoc REQUIRED)
find_program(GRIDRUN_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

if(GRIDRUN_BUILD_TORCH)
  find_package(Torch CONFIG REQUIRED)
  find_package(MPI REQUIRED COMPONENTS CXX)
endif()

# CUDA + NCCL: the NcclCommunicator only needs the CUDA runtime API and NCCL
# headers/libraries (no nvcc), so it compiles and links on machines without a
# GPU. AUTO turns it on when both are found.
set(GRIDRUN_HAVE_CUDA OFF)
if(GRIDRUN_BUILD_TORCH AND NOT GRIDRUN_WITH_CUDA STREQUAL "OFF")
  if(NOT CUDAToolkit_ROOT AND EXISTS /usr/local/cuda)
    set(CUDAToolkit_ROOT /usr/local/cuda)
  endif()
  find_package(CUDAToolkit QUIET)
  find_path(NCCL_INCLUDE_DIR nccl.h
            HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include ENV NCCL_HOME
            PATH_SUFFIXES include)
  find_library(NCCL_LIBRARY nccl
               HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64 ENV NCCL_HOME
               PATH_SUFFIXES lib lib64)
  if(CUDAToolkit_FOUND AND NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(GRIDRUN_HAVE_CUDA ON)
    add_library(gridrun_nccl INTERFACE)
    target_include_directories(gridrun_nccl INTERFACE ${NCCL_INCLUDE_DIR})
    target_link_libraries(gridrun_nccl INTERFACE ${NCCL_LIBRARY} CUDA::cudart)
  elseif(GRIDRUN_WITH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "GRIDRUN_WITH_CUDA=ON but the CUDA toolkit or NCCL was not found")
  endif()
endif()
message(STATUS "gridrun: CUDA/NCCL path ${GRIDRUN_HAVE_CUDA}")
