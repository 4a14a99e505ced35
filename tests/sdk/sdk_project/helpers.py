def describe(args) -> str:
    return f"hyperparameters epochs={args.epochs} lr={args.lr} tag={args.tag}"
