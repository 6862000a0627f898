#include "sim/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace codesim::config {
namespace {

enum class Shape { kRing, kTree };
constexpr auto enum_names(Shape) {
  return std::array{std::pair{Shape::kRing, std::string_view("ring")},
                    std::pair{Shape::kTree, std::string_view("tree")}};
}

struct Link {
  Bandwidth bandwidth;
  Duration latency = Nanoseconds(100);
  template <class V>
  void fields(V& v) {
    v.req("bandwidth", bandwidth, "per-direction rate");
    v.opt("latency", latency, "per-hop latency");
  }
};

struct Cluster {
  int nodes = 0;
  Shape shape = Shape::kRing;
  Link link;
  std::vector<int> planes;
  std::optional<std::string> note;
  template <class V>
  void fields(V& v) {
    v.req("nodes", nodes, "node count");
    v.opt("shape", shape, "collective shape");
    v.req("link", link, "the link");
    v.opt("planes", planes, "planes");
    v.opt("note", note, "free text");
  }
  void validate(Reader& r) { r.check(nodes > 0, "nodes", "must be > 0"); }
};

TEST(Config, ReadsTypedStructWithDefaults) {
  Cluster c;
  Diagnostics d;
  ASSERT_TRUE(load_text("nodes: 4\nlink:\n  bandwidth: 400Gbps\nplanes: [1, 2]\n", "t.yaml", c, d))
      << d.str();
  EXPECT_EQ(c.nodes, 4);
  EXPECT_EQ(c.link.bandwidth, Gbps(400));
  EXPECT_EQ(c.link.latency, Nanoseconds(100));
  EXPECT_EQ(c.planes.size(), 2u);
  EXPECT_FALSE(c.note.has_value());
}

TEST(Config, CollectsAllErrorsWithLineColumnAndKey) {
  Cluster c;
  Diagnostics d;
  const char* text =
      "nodes: four\n"             // line 1: wrong type
      "shape: star\n"             // line 2: bad enum
      "link:\n"
      "  bandwidth: 400\n"        // line 4: no unit
      "  latncy: 1us\n"           // line 5: unknown key with suggestion
      "colour: red\n";            // line 6: unknown key
  EXPECT_FALSE(load_text(text, "bad.yaml", c, d));
  ASSERT_EQ(d.size(), 5u) << d.str();
  std::string all = d.str();
  EXPECT_NE(all.find("bad.yaml:1:8: key 'nodes': expected an integer, got 'four'"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:2:8: key 'shape': unknown value 'star'; expected one of: ring, tree"),
            std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:4:14: key 'link.bandwidth': '400' has no unit"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:5:3: key 'link.latncy': unknown key (did you mean 'latency'?)"),
            std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:6:1: key 'colour': unknown key"), std::string::npos) << all;
}

TEST(Config, MissingRequiredKey) {
  Cluster c;
  Diagnostics d;
  EXPECT_FALSE(load_text("nodes: 2\n", "m.yaml", c, d));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.list()[0].key, "link");
  EXPECT_NE(d.list()[0].message.find("missing required key"), std::string::npos);
}

TEST(Config, ValidateRunsOnlyWhenTheStructReadCleanly) {
  Cluster c;
  Diagnostics d;
  EXPECT_FALSE(load_text("nodes: 0\nlink: {bandwidth: 1GB/s}\n", "v.yaml", c, d));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.list()[0].str(), "v.yaml:1:8: key 'nodes': must be > 0");
}

TEST(Config, DuplicateKeysAndSyntaxErrors) {
  Node n;
  Diagnostics d;
  EXPECT_FALSE(parse_string("a: 1\na: 2\n", "dup.yaml", n, d));
  EXPECT_NE(d.str().find("dup.yaml:2:1: key 'a': duplicate key"), std::string::npos) << d.str();
  Diagnostics d2;
  EXPECT_FALSE(parse_string("a: [1, 2\n", "syn.yaml", n, d2));
  EXPECT_NE(d2.str().find("YAML syntax error"), std::string::npos);
}

TEST(Config, IncludesAndOverridesKeepTheirOrigins) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "codesim_config_test";
  fs::create_directories(dir);
  std::ofstream(dir / "base.yaml") << "nodes: 2\nlink:\n  bandwidth: 50GB/s\n  latency: 1us\n";
  std::ofstream(dir / "top.yaml") << "include: base.yaml\nlink:\n  bandwidth: 100GB/s\n";
  Cluster c;
  Diagnostics d;
  ASSERT_TRUE(load((dir / "top.yaml").string(), {"nodes=16"}, c, d)) << d.str();
  EXPECT_EQ(c.nodes, 16);
  EXPECT_EQ(c.link.bandwidth, GBps(100));
  EXPECT_EQ(c.link.latency, Microseconds(1));  // from base.yaml

  // An error in the included file names the included file and its line.
  std::ofstream(dir / "base2.yaml") << "nodes: 2\nlink:\n  bandwidth: fast\n";
  std::ofstream(dir / "top2.yaml") << "include: base2.yaml\n";
  Cluster c2;
  Diagnostics d2;
  EXPECT_FALSE(load((dir / "top2.yaml").string(), {}, c2, d2));
  EXPECT_NE(d2.str().find("base2.yaml:3:14: key 'link.bandwidth'"), std::string::npos) << d2.str();

  // An error in an override names the flag.
  Cluster c3;
  Diagnostics d3;
  EXPECT_FALSE(load((dir / "top.yaml").string(), {"link.bandwidth=9"}, c3, d3));
  EXPECT_NE(d3.str().find("--set link.bandwidth=9: key 'link.bandwidth': '9' has no unit"),
            std::string::npos) << d3.str();

  // FILE#key includes one section of a file; a missing section names it.
  std::ofstream(dir / "sections.yaml") << "other: {x: 1}\ncfg:\n  inner:\n    nodes: 5\n    link: {bandwidth: 25GB/s}\n";
  std::ofstream(dir / "top3.yaml") << "include: sections.yaml#cfg.inner\n";
  Cluster c5;
  Diagnostics d5;
  ASSERT_TRUE(load((dir / "top3.yaml").string(), {}, c5, d5)) << d5.str();
  EXPECT_EQ(c5.nodes, 5);
  EXPECT_EQ(c5.link.bandwidth, GBps(25));
  std::ofstream(dir / "top4.yaml") << "include: sections.yaml#cfg.missing\n";
  Cluster c6;
  Diagnostics d6;
  EXPECT_FALSE(load((dir / "top4.yaml").string(), {}, c6, d6));
  EXPECT_NE(d6.str().find("top4.yaml:1:10: key 'include': included file"), std::string::npos) << d6.str();
  EXPECT_NE(d6.str().find("has no key 'cfg.missing'"), std::string::npos) << d6.str();
  std::ofstream(dir / "top5.yaml") << "include: sections.yaml#\n";
  Cluster c7;
  Diagnostics d7;
  EXPECT_FALSE(load((dir / "top5.yaml").string(), {}, c7, d7));
  EXPECT_NE(d7.str().find("expected a key path after '#'"), std::string::npos) << d7.str();
  // A '#' inside a directory name is part of the path.
  fs::create_directories(dir / "a#b");
  std::ofstream(dir / "a#b" / "base.yaml") << "nodes: 7\nlink: {bandwidth: 1GB/s}\n";
  std::ofstream(dir / "top6.yaml") << "include: a#b/base.yaml\n";
  Cluster c8;
  Diagnostics d8;
  ASSERT_TRUE(load((dir / "top6.yaml").string(), {}, c8, d8)) << d8.str();
  EXPECT_EQ(c8.nodes, 7);

  // Include cycles are errors, not hangs.
  std::ofstream(dir / "a.yaml") << "include: b.yaml\n";
  std::ofstream(dir / "b.yaml") << "include: a.yaml\n";
  Node n;
  Diagnostics d4;
  EXPECT_FALSE(load_file((dir / "a.yaml").string(), n, d4));
  EXPECT_NE(d4.str().find("include cycle"), std::string::npos) << d4.str();
}

TEST(Config, WriterEmitsEveryFieldAndRoundTrips) {
  Cluster c;
  Diagnostics d;
  ASSERT_TRUE(load_text("nodes: 3\nlink: {bandwidth: 400Gbps}\n", "w.yaml", c, d));
  std::string text = emit(Writer::to_node(c));
  EXPECT_NE(text.find("latency: 100ns"), std::string::npos) << text;
  EXPECT_NE(text.find("shape: ring"), std::string::npos) << text;
  Cluster back;
  ASSERT_TRUE(load_text(text, "emitted", back, d)) << d.str() << text;
  EXPECT_EQ(back.link.bandwidth, c.link.bandwidth);
  EXPECT_EQ(back.nodes, 3);
}

}  // namespace
}  // namespace codesim::config
