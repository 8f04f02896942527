# The assignment notebooks are otter-grader *master* notebooks (solutions, hidden checks, raw config cells): they
# are not meant to run as they are under nbval. tests/test_assignments.py builds them with otter and runs the
# built notebooks instead (solutions pass every check, student versions report "not done yet", grading works).
collect_ignore_glob = ["*.ipynb"]
