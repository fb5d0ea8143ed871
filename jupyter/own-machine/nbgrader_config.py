# The student tree of `make lab` on a learner's own machine (JUPYTER_CONFIG_PATH, with jupyter/student/).
# Its Assignments tab reads a course exchange kept in the project, .exchange/, which nbgrader creates
# empty: a learner hands work in as the instructor asks, and an instructor may release into it.
import os

from autograder.course.config import COURSE_ID

c.CourseDirectory.course_id = COURSE_ID
c.Exchange.root = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                               ".exchange")
