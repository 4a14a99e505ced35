"""``mlharbor/image-classifier``: a small CNN trained on labelled images stored in S3 (the seed's example).

Data layout: one folder per label under each channel (``train/<label>/<n>.png``); the
scikit-learn 8×8 digits are the data set it ships with (:mod:`.dataset`). ``train`` is
:mod:`.train`, ``serve`` is :mod:`.serve`.
"""
