"""WeCom archive corpus generator."""
