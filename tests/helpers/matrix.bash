# The result table of a fault matrix (tests/faults.bats, tests/serve_faults.bats).
# A suite sets MATRIX to a file in setup_file, calls `record ROW COLUMN ok|FAIL`
# for every cell, and prints the table in teardown_file with
#   print_matrix "TITLE LINE 1" "TITLE LINE 2" ROW_HEADING COLUMN...

record() { printf '%s %s %s\n' "$1" "$2" "$3" >>"$MATRIX"; }

print_matrix() {
  [[ -s "$MATRIX" ]] || return 0
  python3 - "$MATRIX" "$@" <<'EOF_PY'
import sys
path, title1, title2, heading, cols = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
rows, cells = [], {}
for line in open(path):
    row, col, result = line.split()
    if row not in rows:
        rows.append(row)
    cells[(row, col)] = result
width = max(len(r) for r in rows + [heading])
out = [title1, title2, heading.ljust(width) + "  " + "  ".join(cols)]
for r in rows:
    out.append(r.ljust(width) + "  " +
               "  ".join(cells.get((r, c), "-").ljust(len(c)) for c in cols))
tried = len(cells)
ok = sum(1 for v in cells.values() if v == "ok")
out.append("%d cells tried, %d ok, %d failed" % (tried, ok, tried - ok))
print("\n".join("# " + line.rstrip() for line in out))
EOF_PY
}
