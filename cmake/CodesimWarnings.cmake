# codesim_library(NAME SOURCES... DEPS ...): one library per folder, with the
# project's warnings, the repo root as include path, and its allowed deps.
function(codesim_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local
                                           -Wnon-virtual-dtor -Wno-unknown-pragmas
                                           # GCC 12 false positive on std::string operator+ at -O2 (GCC bug 105329)
                                           -Wno-restrict)
endfunction()

function(codesim_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CODESIM_ROOT})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  codesim_warnings(${name})
endfunction()

# codesim_folder_library(NAME DEPS ...): a library from every .cpp in the
# calling folder and its detail/ subfolder (globbed, so that adding a file
# needs no CMake edit). A folder with no sources yet is an INTERFACE library.
function(codesim_folder_library name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp
                                   ${CMAKE_CURRENT_SOURCE_DIR}/detail/*.cpp)
  if(srcs)
    codesim_library(${name} SOURCES ${srcs} DEPS ${ARG_DEPS})
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${CODESIM_ROOT})
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
  endif()
endfunction()
