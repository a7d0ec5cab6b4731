# Minimal stubs for the part of scikit-learn typedengine's examples use (scikit-learn ships no types).
from typing import Literal, overload

import numpy as np
import numpy.typing as npt

class Bunch:
    data: npt.NDArray[np.float64]
    target: npt.NDArray[np.int64]
    images: npt.NDArray[np.float64]
    target_names: npt.NDArray[np.int64]
    DESCR: str

@overload
def load_digits(*, n_class: int = ..., return_X_y: Literal[False] = ..., as_frame: bool = ...) -> Bunch: ...
@overload
def load_digits(
    *, n_class: int = ..., return_X_y: Literal[True], as_frame: bool = ...
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]: ...
