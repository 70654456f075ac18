# Incremental rebuilds for `pip install .` (included after find_package(pybind11), before any target).
#
# pip builds in a new isolated environment each time, and scikit-build-core, seeing its own path
# change, deletes CMakeCache.txt and CMakeFiles/ of the build directory, object files included:
# every `pip install .` configures and compiles from scratch. A compiler cache makes that second
# compile cheap, provided the compile commands and headers do not change from one build to the
# next. Two things see to that:
#
# 1. ccache (when found on PATH) as the compiler launcher for C++ and CUDA, with CCACHE_BASEDIR at
#    the source directory so the cache keys hold relative paths (another checkout location hits too).
# 2. pybind11's headers copied (only when they differ) into the build directory, so that the
#    include path does not name the isolated environment's temporary folder, which would change
#    every command and every header's path.
#
# 3. No link-time optimisation (pybind11_add_module's default in Release builds): with it the
#    objects hold compiler IR and all code generation happens at the link, which no cache
#    covers (about a minute of every rebuild on 2 cores). The hot kernels are compiled in their
#    own ISA object libraries without LTO anyway. -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON
#    brings it back.
#
# PYENGINE_CCACHE=OFF turns 1 off; a launcher given on the command line is kept as it is.

option(PYENGINE_CCACHE "Use ccache as the compiler launcher when found on PATH" ON)
if(PYENGINE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(PE_CCACHE_PROGRAM ccache)
  if(PE_CCACHE_PROGRAM)
    set(PE_LAUNCHER ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${CMAKE_SOURCE_DIR} ${PE_CCACHE_PROGRAM})
    set(CMAKE_CXX_COMPILER_LAUNCHER ${PE_LAUNCHER})
    if(NOT CMAKE_CUDA_COMPILER_LAUNCHER)
      set(CMAKE_CUDA_COMPILER_LAUNCHER ${PE_LAUNCHER})
    endif()
    message(STATUS "pyengine: compiling through ${PE_CCACHE_PROGRAM} (a rebuild of unchanged sources is cache hits)")
  else()
    message(STATUS "pyengine: ccache not found; every `pip install .` compiles from scratch "
                   "(install ccache to make reinstalls incremental)")
  endif()
endif()

if(NOT DEFINED CMAKE_INTERPROCEDURAL_OPTIMIZATION)
  set(CMAKE_INTERPROCEDURAL_OPTIMIZATION OFF)
endif()

# pybind11's headers at a path that stays the same from one isolated build to the next.
if(CMAKE_VERSION VERSION_GREATER_EQUAL 3.21 AND TARGET pybind11::pybind11_headers)
  get_target_property(PE_PYBIND11_INCLUDE pybind11::pybind11_headers INTERFACE_INCLUDE_DIRECTORIES)
  set(PE_PYBIND11_STAGE ${CMAKE_BINARY_DIR}/pybind11-include)
  if(NOT PE_PYBIND11_INCLUDE STREQUAL PE_PYBIND11_STAGE AND EXISTS "${PE_PYBIND11_INCLUDE}/pybind11/pybind11.h")
    # A different pybind11 version: start the copy afresh, so no header of the old one lingers.
    set(PE_PYBIND11_STAMP ${PE_PYBIND11_STAGE}/.version)
    if(EXISTS ${PE_PYBIND11_STAMP})
      file(READ ${PE_PYBIND11_STAMP} PE_PYBIND11_STAGED_VERSION)
    endif()
    if(NOT "${PE_PYBIND11_STAGED_VERSION}" STREQUAL "${pybind11_VERSION}")
      file(REMOVE_RECURSE ${PE_PYBIND11_STAGE})
    endif()
    file(GLOB_RECURSE PE_PYBIND11_HEADERS RELATIVE ${PE_PYBIND11_INCLUDE} ${PE_PYBIND11_INCLUDE}/*)
    foreach(header ${PE_PYBIND11_HEADERS})
      get_filename_component(header_dir ${PE_PYBIND11_STAGE}/${header} DIRECTORY)
      file(MAKE_DIRECTORY ${header_dir})
      # ONLY_IF_DIFFERENT leaves an unchanged header's timestamp alone.
      file(COPY_FILE ${PE_PYBIND11_INCLUDE}/${header} ${PE_PYBIND11_STAGE}/${header} ONLY_IF_DIFFERENT)
    endforeach()
    file(WRITE ${PE_PYBIND11_STAMP} "${pybind11_VERSION}")
    set_target_properties(pybind11::pybind11_headers PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${PE_PYBIND11_STAGE})
  endif()
endif()
