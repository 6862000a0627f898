#include "cli/sweep_mpi.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#ifdef CODESIM_WITH_MPI
#include <mpi.h>
#endif

namespace codesim::cli {

bool launched_under_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"}) {
    const char* s = std::getenv(v);
    if (s && std::atoi(s) > 1) return true;
  }
  return false;
}

#ifndef CODESIM_WITH_MPI
scenarios::SweepRunSummary run_sweep_mpi(const scenarios::SweepSpec& spec, const config::Node& base,
                                         const std::string& base_path,
                                         const scenarios::Evaluator& eval,
                                         const scenarios::SweepRunOptions& options, int& rank) {
  rank = 0;
  return scenarios::run_sweep_threads(spec, base, base_path, eval, options);
}
#else

namespace {
constexpr int kTagRequest = 1;  // worker -> 0: a finished row (JSON) or "" for the first request
constexpr int kTagWork = 2;     // 0 -> worker: an index into the todo list, or -1 to stop
}  // namespace

scenarios::SweepRunSummary run_sweep_mpi(const scenarios::SweepSpec& spec, const config::Node& base,
                                         const std::string& base_path,
                                         const scenarios::Evaluator& eval,
                                         const scenarios::SweepRunOptions& options, int& rank) {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  // Every rank expands the same points and reads the same resume file, so
  // they agree on the todo list without shipping scenarios around.
  std::vector<scenarios::SweepPoint> points = scenarios::expand(spec);
  std::vector<scenarios::SweepRow> done;
  if (rank == 0) done = scenarios::resumable_rows(points, options);
  // Rank 0 decides what is left and broadcasts the indices.
  std::vector<long long> todo_idx;
  if (rank == 0)
    for (const auto& p : scenarios::remaining_points(points, done, options.context))
      todo_idx.push_back(static_cast<long long>(p.index));
  long long n_todo = static_cast<long long>(todo_idx.size());
  MPI_Bcast(&n_todo, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
  todo_idx.resize(static_cast<size_t>(n_todo));
  if (n_todo > 0) MPI_Bcast(todo_idx.data(), static_cast<int>(n_todo), MPI_LONG_LONG, 0, MPI_COMM_WORLD);

  scenarios::SweepRunSummary summary;
  summary.total = points.size();
  summary.resumed = done.size();

  if (rank != 0) {
    std::string result;  // previous row, sent with the next request
    while (true) {
      MPI_Send(result.data(), static_cast<int>(result.size()), MPI_CHAR, 0, kTagRequest, MPI_COMM_WORLD);
      long long i = -1;
      MPI_Recv(&i, 1, MPI_LONG_LONG, 0, kTagWork, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (i < 0) break;
      const auto& p = points[static_cast<size_t>(todo_idx[static_cast<size_t>(i)])];
      result = scenarios::row_to_json(scenarios::evaluate_point(base, base_path, spec, p, eval));
    }
    MPI_Finalize();
    return summary;
  }

  // Rank 0: hand out work to remote ranks from the MPI thread, and evaluate
  // from a local thread that takes from the same counter.
  scenarios::RowSink sink(options.jsonl_path);
  std::mutex rows_mutex;
  std::vector<scenarios::SweepRow> fresh;
  std::atomic<long long> next{0};
  std::atomic<size_t> finished{0};
  auto record = [&](scenarios::SweepRow row) {
    row.context = options.context;
    sink.append(row);
    size_t n = finished.fetch_add(1) + 1;
    std::lock_guard<std::mutex> lock(rows_mutex);
    fresh.push_back(std::move(row));
    if (options.progress) options.progress(summary.resumed + n, summary.total);
  };
  std::thread local([&] {
    for (long long i; (i = next.fetch_add(1)) < n_todo;) {
      const auto& p = points[static_cast<size_t>(todo_idx[static_cast<size_t>(i)])];
      record(scenarios::evaluate_point(base, base_path, spec, p, eval));
    }
  });
  int active = size - 1;
  while (active > 0) {
    // Poll rather than block: OpenMPI's blocking probe spins, and on an
    // oversubscribed machine that would steal a core from the workers.
    MPI_Status st;
    for (int flag = 0;;) {
      MPI_Iprobe(MPI_ANY_SOURCE, kTagRequest, MPI_COMM_WORLD, &flag, &st);
      if (flag) break;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    int len = 0;
    MPI_Get_count(&st, MPI_CHAR, &len);
    std::string msg(static_cast<size_t>(len), '\0');
    MPI_Recv(msg.data(), len, MPI_CHAR, st.MPI_SOURCE, kTagRequest, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (!msg.empty()) {
      scenarios::SweepRow row;
      if (scenarios::row_from_json(msg, row)) record(std::move(row));
    }
    long long i = next.fetch_add(1);
    if (i >= n_todo) {
      i = -1;
      --active;
    }
    MPI_Send(&i, 1, MPI_LONG_LONG, st.MPI_SOURCE, kTagWork, MPI_COMM_WORLD);
  }
  local.join();
  MPI_Finalize();

  summary.evaluated = fresh.size();
  summary.rows = std::move(done);
  for (auto& r : fresh) summary.rows.push_back(std::move(r));
  std::sort(summary.rows.begin(), summary.rows.end(),
            [](const auto& a, const auto& b) { return a.point.index < b.point.index; });
  return summary;
}
#endif

}  // namespace codesim::cli
