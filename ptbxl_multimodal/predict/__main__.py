"""`python -m ptbxl_multimodal.predict`: the predict command line (also installed as `ptbxl-predict`)."""

import sys

from ptbxl_multimodal.predict.cli import main

sys.exit(main())
