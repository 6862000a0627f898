// The codesim command line: one subcommand per job. Each subcommand lives in
// its own file (cli/cmd_*.cpp) and registers itself in register_all().
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "codesim: a simulator for AI-cluster hardware/software co-design.\n"
      "Compare fabrics on cost and on real workloads, estimate training time and cost,\n"
      "and size inference deployments.\n\n"
      "Examples:\n"
      "  codesim topology compare scenarios/paper/table3-*.yaml\n"
      "  codesim check scenarios/paper/table3-mpft.yaml\n"
      "  codesim show scenarios/paper/table3-mpft.yaml --set cluster.fabric.planes=4\n",
      "codesim"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "codesim 0.1.0");
  codesim::cli::GlobalOptions global;
  app.add_flag("-q,--quiet", global.quiet, "Print only results and errors");
  app.add_flag("-v,--verbose", global.verbose, "Print more detail on stderr");
  codesim::cli::register_all(app, global);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return global.exit_code;
}
