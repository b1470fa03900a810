"""Deploy-time planning: from requirements to template parameters and a monthly cost, with reasons."""
