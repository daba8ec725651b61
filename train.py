from get3d.training.cli import main  # `python train.py ...` is `get3d train ...` (see --help)

if __name__ == "__main__":
    raise SystemExit(main())
