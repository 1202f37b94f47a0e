"""Image folders: one sub-folder of images per class → `DataSpec`.

Example:
    >>> from keras_transfer.data.folders import from_folder
    >>> from_folder(Path("photos")).class_counts()
    {'cat': 40, 'dog': 38}
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from keras_transfer.data.images import CONVERTIBLE_EXTENSIONS, IMAGE_EXTENSIONS
from keras_transfer.data.labels import check_classes
from keras_transfer.data.spec import DataSpec


def list_images(folder: Path, convertible: bool = False, *, broken_links: bool = False,
                recursive: bool = True) -> list[Path]:
    """Image files below `folder` (sorted), by extension; hidden files skipped.

    Args:
        folder: the folder to search.
        convertible: also the kinds the scan converts with Pillow (TIFF).
        broken_links: also symbolic links with an image name whose target does not exist,
            for the scan to report (without it they are left out, like anything that is not a file).
        recursive: search sub-folders too.

    Returns:
        The files, sorted.

    Example:
        >>> list_images(Path("photos/cat"))
        [PosixPath('photos/cat/001.jpg'), PosixPath('photos/cat/002.png')]
    """
    extensions = IMAGE_EXTENSIONS + (CONVERTIBLE_EXTENSIONS if convertible else ())
    return sorted(
        path for path in (folder.rglob("*") if recursive else folder.glob("*"))
        if path.suffix.lower() in extensions and not path.name.startswith(".")
        and (path.is_file() or (broken_links and path.is_symlink() and not path.exists()))
    )


def from_folder(
    folder: Path, class_names: Sequence[str] | None = None, role: str = "training", convertible: bool = False
) -> DataSpec:
    """A folder with one sub-folder of images per class → `DataSpec`.

    Args:
        folder: the folder; each sub-folder (hidden ones aside) is a class.
        class_names: the class order (default: the sorted sub-folder names); a
            folder may then lack a class but not have an unknown one.
        role: "training", "validation", ... (for error messages).
        convertible: set when the scan will check the files: also list the
            kinds it converts with Pillow (TIFF), and dangling symbolic links,
            which it reports as skipped.

    Returns:
        A `DataSpec` of file paths and int class ids.

    Raises:
        ValueError: for no class sub-folders, an empty class folder, an
            unknown class, or a single training class.

    Example:
        >>> spec = from_folder(Path("photos"))
        >>> spec.class_names
        ['cat', 'dog']
    """
    folder = Path(folder)
    found = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not found:
        loose = list_images(folder)
        detail = f" It holds {len(loose)} images directly;" if loose else ""
        raise ValueError(
            f"No class sub-folders in {folder}.{detail} put each class's images in a sub-folder named "
            f"after the class, e.g. {folder}/cat/001.jpg and {folder}/dog/001.jpg."
        )
    names = list(class_names) if class_names else found
    if class_names:
        unknown = sorted(set(found) - set(names))
        if unknown:
            raise ValueError(f"{role.capitalize()} folder {folder} has classes {unknown} that the training data "
                             f"does not have ({names}): remove them or add them to the training data.")
    paths, labels = [], []
    for index, name in enumerate(names):
        class_folder = folder / name
        if not class_folder.is_dir():
            continue  # a validation folder may lack a class
        images = list_images(class_folder, convertible, broken_links=convertible)
        if not images:
            raise ValueError(
                f"Class folder {class_folder} has no images ({', '.join(IMAGE_EXTENSIONS)}): "
                "add images to it or remove the folder."
            )
        paths += [str(p) for p in images]
        labels += [index] * len(images)
    spec = DataSpec(class_names=names, labels=np.array(labels, np.int64), paths=np.array(paths, dtype=object),
                    source=str(folder))
    return check_classes(spec, role, given=bool(class_names))
