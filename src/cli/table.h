// A plain-text table for people: a header row and data rows, columns padded to the widest
// cell, two spaces between columns, no trailing spaces. Widths count UTF-8 code points, so an
// alias with non-ASCII letters still lines up in a terminal.
//
//   Table t({"ALIAS", "STATE", "GEN"});
//   t.AlignRight(2);
//   t.AddRow({"chat", "loaded", "3"});
//   std::cout << t.Render();
//   // ALIAS  STATE   GEN
//   // chat   loaded    3
//
// Thread-safety: not thread-safe; a value owned by one thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace modelrt::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers);

  // Right-aligns column `column` (numbers read better that way); out-of-range is ignored.
  void AlignRight(size_t column);
  // A row with fewer cells than headers is padded with empty cells; extra cells are dropped.
  // Newlines and tabs inside a cell become spaces so a row stays one line.
  void AddRow(std::vector<std::string> cells);

  size_t rows() const { return rows_.size(); }
  // The header line and every row, each ending in '\n'.
  std::string Render() const;

  // Display width of `text`: its UTF-8 code points (continuation bytes are not counted).
  static size_t DisplayWidth(std::string_view text);

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace modelrt::cli
