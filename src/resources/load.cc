#include "resources/load.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "base/strings.h"
#include "resources/document.h"
#include "resources/registry.h"

namespace trellis::resources {
namespace {

void decode_root(DecodeContext& ctx, const YAML::Node& node, std::vector<Resource>& out) {
  ctx.object = ObjectRef{};
  Node root(ctx, node, "");
  if (root.is_null()) return;
  // kubectl-style List: {apiVersion: v1, kind: List, items: [...]}
  if (root.is_map()) {
    std::string kind;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == "kind" && it->second.IsScalar()) {
        kind = it->second.Scalar();
      }
    }
    if (kind == "List" || (base::ends_with(kind, "List") && kind.size() > 4)) {
      root.ignore({"apiVersion", "kind", "metadata"});
      root.each("items", kRequired, [&](Node& item) {
        ctx.object = ObjectRef{};
        Node item_root(ctx, item.raw(), "");
        Resource r;
        if (decode_object(item_root, r)) out.push_back(std::move(r));
      });
      ctx.object = ObjectRef{};
      root.finish();
      return;
    }
  }
  if (root.is_sequence()) {
    // A bare JSON array of objects.
    size_t i = 0;
    for (auto it = node.begin(); it != node.end(); ++it, ++i) {
      ctx.object = ObjectRef{};
      Node item_root(ctx, *it, "");
      Resource r;
      if (decode_object(item_root, r)) out.push_back(std::move(r));
    }
    return;
  }
  Resource r;
  if (decode_object(root, r)) out.push_back(std::move(r));
}

// Manifests are shallow; deep flow nesting ("[[[[...") only appears in hostile input and would
// make the YAML parser recurse deeply. Returns the line of the first offending bracket, or 0.
constexpr int kMaxFlowNesting = 64;
int excessive_flow_nesting(std::string_view text) {
  int depth = 0;
  int line = 1;
  char quote = 0;
  bool comment = false;
  char prev = '\n';
  for (char c : text) {
    const char before = prev;
    prev = c;
    if (c == '\n') {
      ++line;
      comment = false;
      continue;
    }
    if (comment) continue;
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    // A quote only opens a quoted scalar at the start of a token ("it's" is plain text).
    const bool token_start = before == ' ' || before == '\t' || before == '\n' ||
                             before == '[' || before == '{' || before == ',' || before == ':';
    if ((c == '"' || c == '\'') && token_start) quote = c;
    else if (c == '#') comment = true;
    else if (c == '[' || c == '{') {
      if (++depth > kMaxFlowNesting) return line;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return 0;
}

void load_document(const SourceDocument& doc, const std::string& file, std::vector<Resource>& out,
                   Diagnostics& diags) {
  DecodeContext ctx(diags, file, doc.line_offset);
  if (int line = excessive_flow_nesting(doc.text); line > 0) {
    diags.error({file, doc.line_offset + line, 1}, {}, "",
                "nesting deeper than " + std::to_string(kMaxFlowNesting) +
                    " levels; this is not a Kubernetes manifest");
    return;
  }
  YAML::Node node;
  try {
    node = YAML::Load(doc.text);
  } catch (const YAML::Exception& e) {
    Location loc = ctx.location(e.mark);
    std::string msg = e.msg.empty() ? std::string("could not parse") : e.msg;
    diags.error(loc, {}, "", "syntax error: " + msg);
    return;
  } catch (const std::exception& e) {
    diags.error({file, doc.line_offset + 1, 1}, {}, "", std::string("syntax error: ") + e.what());
    return;
  }
  try {
    decode_root(ctx, node, out);
  } catch (const std::exception& e) {
    // yaml-cpp can throw on malformed internal state; never let it escape.
    diags.error({file, doc.line_offset + 1, 1}, ctx.object, "", std::string("could not decode: ") + e.what());
  }
}

}  // namespace

void load_text(std::string_view text, const std::string& file, std::vector<Resource>& out,
               Diagnostics& diags) {
  if (text.size() > kMaxManifestBytes) {
    diags.error({file, 1, 1}, {}, "",
                "file is larger than " + std::to_string(kMaxManifestBytes / (1024 * 1024)) +
                    " MiB; split it into smaller manifests");
    return;
  }
  if (text.find('\0') != std::string_view::npos) {
    diags.error({file, 1, 1}, {}, "", "file contains NUL bytes; it is not a text manifest");
    return;
  }
  if (looks_like_json(text)) {
    load_document(SourceDocument{std::string(text), 0}, file, out, diags);
    return;
  }
  for (const auto& doc : split_yaml_stream(text)) load_document(doc, file, out, diags);
}

base::Result<std::vector<std::string>, std::string> collect_manifest_files(const std::string& path) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  if (path == "-") return std::vector<std::string>{"-"};
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return base::unexpected(path + ": no such file or directory");
  }
  if (!fs::is_directory(status)) return std::vector<std::string>{path};
  fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
  if (ec) return base::unexpected(path + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return base::unexpected(path + ": " + ec.message());
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    const std::string ext = p.extension().string();
    if (ext == ".yaml" || ext == ".yml" || ext == ".json") files.push_back(p.string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

base::Result<base::Ok, std::string> load_file(const std::string& path, std::vector<Resource>& out,
                                              Diagnostics& diags) {
  std::string text;
  std::string display = path;
  if (path == "-") {
    display = "<stdin>";
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return base::unexpected(path + ": cannot open file");
    in.seekg(0, std::ios::end);
    const auto size = in.tellg();
    if (size < 0) return base::unexpected(path + ": cannot read file");
    if (static_cast<size_t>(size) > kMaxManifestBytes) {
      diags.error({path, 1, 1}, {}, "",
                  "file is larger than " + std::to_string(kMaxManifestBytes / (1024 * 1024)) +
                      " MiB; split it into smaller manifests");
      return base::Ok{};
    }
    in.seekg(0);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) return base::unexpected(path + ": read error");
  }
  load_text(text, display, out, diags);
  return base::Ok{};
}

}  // namespace trellis::resources
