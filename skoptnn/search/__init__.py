"""Searching with ``skopt.BayesSearchCV``: a search that survives being killed, a
progress bar and a trials table.

- :mod:`.resumable`: :class:`ResumableBayesSearchCV`, with its checkpoint file
  (:mod:`.checkpoint`, :mod:`.fingerprint`, :mod:`.replay`, :mod:`.rebuild`),
  the estimator's defaults as first trial (:mod:`.defaults`) and pruning
  (:mod:`.pruning`);
- :mod:`.progress`: :class:`ProgressCallback`, a tqdm bar for any search;
- :mod:`.results`: :func:`trials_dataframe`, a fitted search's trials as a table.

None imports TensorFlow: they only read what the search reports.
"""

from .progress import ProgressCallback
from .results import trials_dataframe
from .resumable import ResumableBayesSearchCV

__all__ = ["ProgressCallback", "ResumableBayesSearchCV", "trials_dataframe"]
