"""MkDocs build hooks: render executed results (and quizzes) into pages."""
